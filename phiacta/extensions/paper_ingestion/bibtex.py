"""BibTeX files into references with identifiers (bibtexparser, no network)."""

from __future__ import annotations

import re
from pathlib import Path

import bibtexparser
from bibtexparser.bparser import BibTexParser

from phiacta.extensions.paper_ingestion.document import Reference
from phiacta.identifiers import arxiv_ids_in_text, canonical_identifier, dois_in_text


def read_bibtex(text: str) -> list[Reference]:
    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
    database = bibtexparser.loads(text, parser=parser)
    return [_reference(entry) for entry in database.entries]


def read_bibtex_files(paths: list[Path]) -> list[Reference]:
    found: list[Reference] = []
    for path in paths:
        if path.is_file():
            found += read_bibtex(path.read_text(encoding="utf-8", errors="replace"))
    return found


def _reference(entry: dict[str, str]) -> Reference:
    identifiers = []
    if doi := entry.get("doi", "").strip():
        identifiers.append(canonical_identifier(doi))
    eprint = entry.get("eprint", "").strip()
    if eprint and (
        entry.get("archiveprefix", "").lower() == "arxiv"
        or "arxiv" in eprint.lower()
        or re.match(r"^\d{4}\.\d{4,5}", eprint)
    ):
        identifiers.append(canonical_identifier(f"arXiv:{eprint.removeprefix('arXiv:')}"))
    if pmid := entry.get("pmid", "").strip():
        identifiers.append(canonical_identifier(f"pmid:{pmid}"))
    text = " ".join(str(v) for k, v in entry.items() if k not in ("ID", "ENTRYTYPE"))
    if not identifiers:
        identifiers = dois_in_text(entry.get("url", "") + " " + entry.get("note", ""))
        identifiers += arxiv_ids_in_text(entry.get("journal", "") + " " + entry.get("note", ""))
    year = re.search(r"\d{4}", entry.get("year", ""))
    title = re.sub(r"[{}]", "", entry.get("title", "")).strip() or None
    return Reference(
        key=entry.get("ID", ""),
        text=" ".join(text.split()),
        identifiers=list(dict.fromkeys(identifiers)),
        title=title,
        year=int(year.group(0)) if year else None,
    )
