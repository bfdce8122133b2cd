"""Paper ingestion quality on real papers (not generated ones): per paper, what the
offline extractor makes of it, judged by rules stated here.

    .venv/bin/python -m bench.paper_quality PAPER.pdf ... [--show 5] [--json FILE]

No paper ships with the repository: point it at papers you have (PDF, or any format
paper-ingestion reads; the DOI figures need a PDF or text). Prints one row per paper and
writes bench/results/paper_quality.json.

The figures:
- claims: what `PaperIngestion().ingest` returns (before the bundle's 500-claim cap).
- trivial: a claim is trivial when any of these holds:
  1. fewer than 8 words;
  2. it points rather than states: it starts with "In this paper/section/article/...",
     "This paper/section/article/vignette ...", "The rest of", "Section N", "Table N",
     "Figure N", "See ", or says something "is shown/given/presented/illustrated/
     summarized/listed in" a table, figure, section or appendix;
  3. code or a formula: it holds "R>", ">>>" or "<-", or more than 5 % of its
     characters are of `()[]{}=<>$_^~|\\`;
  4. a fragment: it does not start with a capital, digit, quote or bracket, or does not
     end with `.`, `!` or `?` (a closing quote or bracket may follow).
  meaningful = claims - trivial; the issue asks >= 10 meaningful and < 30 % trivial.
- numbers kept: the share of claims with numbers whose every number (digits, with
  decimal points or separators) is printed in the paper's raw text (PDFium's text,
  white space collapsed): no number was rewritten, split or run together.
- verbatim: the share of claims found word for word in that raw text (line-end
  hyphens and numeric citation brackets removed from both; the extractor drops the
  latter from claims).
- DOIs printed: the DOIs in the raw text after the last "References"/"Bibliography"
  line, a DOI broken over two lines joined when its line ends in `.`, `/`, `-` or `:`
  and the next line goes on with an identifier piece (no spaces, a digit, `.` or `/`
  inside, and the line holds nothing else unless that piece has `.` or `/` inside: a
  running foot "42 Linear Mixed Models" is no DOI's end; "doi:" and the DOI may also
  sit on two lines), up to an "Affiliation"/"Appendix" line. found: the DOIs among the
  extraction's cited works; missed = printed - found; invented = found - printed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium

from phiacta.extensions.base import ExtractionResult, Source
from phiacta.extensions.paper_ingestion import PaperIngestion

RESULTS = Path(__file__).parent / "results" / "paper_quality.json"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_DOI = re.compile(r"10\.\d{4,9}/[^\s\"'<>\[\]{}]+")
_SIGNPOST = re.compile(
    r"^(in this (paper|section|article|work|vignette|chapter|note|study)|"
    r"this (paper|section|article|vignette|note|chapter) |the rest of|"
    r"section \d|table \d|figure \d|fig\. \d|see )"
    r"|\b(is|are) (shown|given|presented|illustrated|summari[sz]ed|listed|depicted|"
    r"displayed|reported) in (table|fig|figure|section|appendix)",
    re.I,
)
_CODE = re.compile(r"R>|>>>|<-")
_SYMBOLS = set("()[]{}=<>$_^~|\\")
_START = re.compile(r"^[A-Z0-9\"'\u201c\u2018(\[]")
_END = re.compile(r"[.!?]['\"\u2019\u201d)\]]*$")
_AFTER_REFERENCES = re.compile(r"^(affiliations?:?|appendix|author information|received:)", re.I)
_CITE_BRACKET = re.compile(r"\s*\[\d{1,3}(?:\s*[,\u2013-]\s*\d{1,3})*\]")


def trivial_reason(claim: str) -> str | None:
    """Why a claim is trivial (rule 1-4 of the docstring), or None."""
    if len(claim.split()) < 8:
        return "short"
    if _SIGNPOST.search(claim):
        return "signpost"
    if _CODE.search(claim) or sum(c in _SYMBOLS for c in claim) > 0.05 * len(claim):
        return "code"
    if not _START.match(claim) or not _END.search(claim):
        return "fragment"
    return None


def raw_text(path: Path) -> str:
    """The paper's text as PDFium gives it (lines as found), or the file's text."""
    if path.suffix.lower() != ".pdf":
        return path.read_text(encoding="utf-8", errors="replace")
    pdf = pdfium.PdfDocument(path.read_bytes())
    try:
        pages = []
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        pdf.close()
    return "\n".join(pages).replace("\r\n", "\n").replace("\r", "\n")


def _flat(text: str) -> str:
    text = re.sub(r"[\ufffe\x02]\n?", "", text)  # PDFium's end-of-line hyphens
    text = re.sub(r"-\n(?=[a-z])", "", text)
    for ligature, letters in {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl"}.items():
        text = text.replace(ligature, letters)
    return " ".join(_CITE_BRACKET.sub("", text).split())


def printed_dois(text: str) -> set[str]:
    """The DOIs of the bibliography, by the rule of the docstring."""
    heads = list(re.finditer(r"^\s*(\d+\.?\s*)?(references|bibliography)\s*$", text, re.I | re.M))
    if not heads:
        return set()
    lines = [line.strip() for line in text[heads[-1].end() :].split("\n")]
    end = next((i for i, line in enumerate(lines) if _AFTER_REFERENCES.match(line)), len(lines))
    lines = lines[:end]
    joined: list[str] = []
    for line in lines:
        if joined and _continues_doi(joined[-1], line):
            joined[-1] += line
        else:
            joined.append(line)
    body = "\n".join(joined)
    body = re.sub(r"[\ufffe\x02]", "-", body)
    return {m.group(0).rstrip(".,;:)").lower() for m in _DOI.finditer(body)}


def _continues_doi(previous: str, line: str) -> bool:
    last = previous.rsplit(None, 1)[-1] if previous.strip() else ""
    first = line.split(None, 1)[0] if line else ""
    if last.lower() in ("doi:", "doi") and first.startswith("10."):
        return True
    if not re.search(r"10\.\d{4,9}", last) or not last.endswith((".", "/", "-", ":", "\ufffe")):
        return False
    if not re.fullmatch(r"[\w./\-:;()]+", first) or not re.search(r"[\d./]", first):
        return False
    # "42." alone goes on a DOI; "42 Linear Mixed Models" is a running foot.
    return len(line.split()) == 1 or bool(re.search(r"[./]\w", first))


def measure(path: Path, show: int) -> dict[str, Any]:
    source = Source.from_path(path)
    started = time.perf_counter()
    result: ExtractionResult = PaperIngestion().ingest(source)
    seconds = time.perf_counter() - started
    raw = raw_text(path)
    flat = _flat(raw)
    numbers_printed = set(_NUMBER.findall(flat))
    claims = [c.content for c in result.claims]
    reasons = {c: trivial_reason(c) for c in claims}
    trivial = [c for c in claims if reasons[c]]
    with_numbers = [c for c in claims if _NUMBER.search(c)]
    kept = [c for c in with_numbers if set(_NUMBER.findall(c)) <= numbers_printed]
    verbatim = [c for c in claims if _flat(c) in flat]
    printed = printed_dois(raw)
    found = {r for r in result.references if r.startswith("10.")}
    pages = None
    if path.suffix.lower() == ".pdf":
        pdf = pdfium.PdfDocument(path.read_bytes())
        pages = len(pdf)
        pdf.close()
    row: dict[str, Any] = {
        "paper": path.name,
        "pages": pages,
        "seconds": round(seconds, 3),
        "claims": len(claims),
        "meaningful": len(claims) - len(trivial),
        "trivial_share": round(len(trivial) / len(claims), 3) if claims else None,
        "trivial_by_rule": {
            r: sum(1 for c in trivial if reasons[c] == r)
            for r in ("short", "signpost", "code", "fragment")
        },
        "claims_with_numbers": len(with_numbers),
        "numbers_kept_share": round(len(kept) / len(with_numbers), 3) if with_numbers else None,
        "verbatim_share": round(len(verbatim) / len(claims), 3) if claims else None,
        "dois_printed": len(printed),
        "dois_found": len(found & printed),
        "dois_missed": sorted(printed - found),
        "dois_invented": sorted(found - printed),
        "claim_types": {
            t: sum(1 for c in result.claims if c.claim_type == t)
            for t in sorted({c.claim_type for c in result.claims})
        },
    }
    if show:
        row["sample_claims"] = [
            f"[{c.section}/{c.claim_type}] {c.content}" for c in result.claims[:show]
        ]
        row["sample_trivial"] = [f"({reasons[c]}) {c}" for c in trivial[:show]]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("papers", nargs="+", type=Path)
    parser.add_argument("--show", type=int, default=0, help="print this many sample claims")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = [measure(path, args.show) for path in args.papers]
    header = (
        f"{'paper':26} {'pages':>5} {'claims':>6} {'meaning':>7} {'trivial':>7} "
        f"{'nums ok':>7} {'verbat':>6} {'DOIs found/printed':>18} {'invented':>8} {'s':>5}"
    )
    print(header)
    for r in rows:
        share = "-" if r["trivial_share"] is None else f"{100 * r['trivial_share']:.0f}%"
        nums = "-" if r["numbers_kept_share"] is None else f"{100 * r['numbers_kept_share']:.0f}%"
        verb = "-" if r["verbatim_share"] is None else f"{100 * r['verbatim_share']:.0f}%"
        print(
            f"{r['paper'][:26]:26} {r['pages'] or '-':>5} {r['claims']:>6} {r['meaningful']:>7} "
            f"{share:>7} {nums:>7} {verb:>6} "
            f"{r['dois_found']:>8}/{r['dois_printed']:<9} {len(r['dois_invented']):>8} "
            f"{r['seconds']:>5.2f}"
        )
        for key in ("sample_claims", "sample_trivial", "dois_missed", "dois_invented"):
            for line in r.get(key, []) if (args.show or key == "dois_invented") else []:
                print(f"    {key}: {line}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
