"""Markdown papers with YAML front matter and a BibTeX file beside them (JOSS style).

Front matter keys read: `title`, `authors` (`name`, `orcid`), `date`/`year`,
`journal`/`venue`, `doi`, `arxiv`, `bibliography` (else every `.bib` beside the file).
Citations `[@key]`, `@key` and `[@a; @b]` are matched to BibTeX entries; pipe tables
become tables.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from phiacta.extensions.base import Author, Source
from phiacta.extensions.paper_ingestion.bibtex import read_bibtex_files
from phiacta.extensions.paper_ingestion.document import Document, Section, TableData, section_kind

_FRONT = re.compile(r"\A---\s*\n(.*?)\n(?:---|\.\.\.)\s*\n", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_CITE = re.compile(r"\[((?:[^\[\]]*?@[\w:./-]+[^\[\]]*?))\]|(?<![\w@])@([A-Za-z][\w:./-]*\w)")
_KEY = re.compile(r"@([A-Za-z][\w:./-]*\w)")


def read_markdown(source: Source) -> Document:
    text = source.text()
    meta: dict[str, Any] = {}
    if m := _FRONT.match(text):
        loaded = yaml.safe_load(m.group(1))
        meta = loaded if isinstance(loaded, dict) else {}
        text = text[m.end() :]
    doc = Document(citation_pattern=None)
    _metadata(doc, meta)
    _body(doc, text)
    doc.references = read_bibtex_files(_bib_files(source.path, meta))
    return doc


def _metadata(doc: Document, meta: dict[str, Any]) -> None:
    doc.title = str(meta["title"]).strip() if meta.get("title") else None
    for author in meta.get("authors") or []:
        if isinstance(author, dict) and author.get("name"):
            orcid = author.get("orcid")
            doc.authors.append(Author(str(author["name"]), str(orcid) if orcid else None))
        elif isinstance(author, str):
            doc.authors.append(Author(author))
    for key in ("doi", "arxiv", "pmid"):
        if meta.get(key):
            value = str(meta[key])
            doc.identifiers.append(
                f"arXiv:{value}"
                if key == "arxiv" and ":" not in value
                else f"pmid:{value}"
                if key == "pmid"
                else value
            )
    for value in meta.get("identifiers") or []:
        doc.identifiers.append(str(value))
    when = str(meta.get("year") or meta.get("date") or "")
    if year := re.search(r"\b(1[89]|20)\d{2}\b", when):
        doc.year = int(year.group(0))
    venue = meta.get("journal") or meta.get("venue")
    doc.venue = str(venue) if venue else None


def _bib_files(path: Path | None, meta: dict[str, Any]) -> list[Path]:
    if path is None:
        return []
    named = meta.get("bibliography")
    if named:
        names = named if isinstance(named, list) else [named]
        return [path.parent / str(n) for n in names]
    return sorted(path.parent.glob("*.bib"))


def _marks(paragraph: str) -> str:
    def mark(m: re.Match[str]) -> str:
        keys = _KEY.findall(m.group(1)) if m.group(1) else [m.group(2)]
        return "\u27e6cite:" + ",".join(keys) + "\u27e7"

    return _CITE.sub(mark, paragraph)


def _body(doc: Document, text: str) -> None:
    section = Section("", "other")
    doc.sections.append(section)
    block: list[str] = []

    def flush() -> None:
        if not block:
            return
        if all(line.lstrip().startswith("|") for line in block):
            _table(doc, block, section)
        else:
            paragraph = " ".join(line.strip() for line in block)
            paragraph = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", paragraph)  # images
            paragraph = re.sub(r"\[([^\]@]+)\]\([^)]*\)", r"\1", paragraph)  # links
            paragraph = re.sub(r"[*_`]{1,3}([^*_`]+)[*_`]{1,3}", r"\1", paragraph)
            if paragraph.strip() and not paragraph.lstrip().startswith(("```", "<")):
                section.paragraphs.append(_marks(paragraph))
        block.clear()

    in_code = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
            flush()
            continue
        if in_code:
            continue
        if m := _HEADING.match(line):
            flush()
            section = Section(m.group(2), section_kind(m.group(2)))
            doc.sections.append(section)
        elif not line.strip():
            flush()
        else:
            block.append(line)
    flush()


def _table(doc: Document, lines: list[str], section: Section) -> None:
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in lines
        if not re.match(r"^\s*\|?\s*:?-{2,}", line)
    ]
    caption = section.paragraphs[-1] if section.paragraphs else section.heading
    doc.tables.append(TableData(caption=caption[:500], rows=rows))
