"""Plain text papers, and the text a PDF yields: headings found by their shape,
paragraphs by blank lines, the numbered reference list parsed.

A heading is a short line without a final period that is a known section name
("Abstract", "RESULTS") or numbered ("3.2 Results and discussion"). The header before
the first heading gives the title (its first line) and the identifiers the paper
states about itself. Numeric citations (`[3]`, `[2, 5-7]`) are matched to the list.
"""

from __future__ import annotations

import re

from phiacta.extensions.base import Source
from phiacta.extensions.paper_ingestion.document import (
    Document,
    Reference,
    Section,
    TableData,
    section_kind,
)
from phiacta.identifiers import arxiv_ids_in_text, dois_in_text

_NUMBERED = re.compile(r"^(\d{1,2}(\.\d{1,2})*\.?|[IVX]{1,4}\.)\s+[A-Z][A-Za-z ,:&/-]{2,70}$")
_ENTRY = re.compile(r"^\s*(?:\[(\d{1,3})\]|(\d{1,3})\.)\s+")
_NUMERIC_CITE = re.compile(r"\[(\d{1,3}(?:\s*[,\u2013-]\s*\d{1,3})*)\]")
_YEAR = re.compile(r"\b(19|20)\d{2}\b")
_TABLE_CAPTION = re.compile(r"^\s*Table\s+[A-Z]?\d{1,3}[.:]\s*\S.{0,200}$")
_CELL_GAP = re.compile(r"\t+|\s{2,}")
_RULE_ROW = re.compile(r"^\s*\|?\s*:?-{3,}")
_NOT_HEADING = re.compile(r"[=<>{}]|^\w{1,2}>")
_HEADING_WORD = re.compile(r"[A-Za-z]{3,}")
_IDENTIFIER_START = re.compile(r"10\.\d{4,9}/|^(?:doi:)?10\.\d{4,9}|https?://", re.I)
_IDENTIFIER_PIECE = re.compile(r"[A-Za-z0-9._/\-:;()~%#?=&+]+")


def read_text(source: Source) -> Document:
    return structure(source.text())


def is_heading(line: str) -> bool:
    stripped = line.strip()
    if not 3 <= len(stripped) <= 80 or stripped.endswith((".", ",", ";")):
        return False
    if _NOT_HEADING.search(stripped) or not _HEADING_WORD.search(stripped):
        return False  # code ("R> pvalue(x)"), a formula's line ("1 X X")
    if _NUMBERED.match(stripped):
        return True
    return (
        len(stripped.split()) <= 5
        and section_kind(stripped) != "other"
        and (stripped[0].isupper() or stripped.isupper())
    )


def structure(text: str) -> Document:
    """A document from text in reading order."""
    doc = Document()
    text, doc.tables = _tables(text)
    header: list[str] = []
    section: Section | None = None
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            joined = _join_lines(paragraph)
            if section is None:
                header.append(joined)
            else:
                section.paragraphs.append(joined)
            paragraph.clear()

    for line in text.splitlines():
        if is_heading(line):
            flush()
            section = Section(line.strip(), section_kind(line))
            doc.sections.append(section)
        elif not line.strip():
            flush()
        elif section is not None and section.kind == "references" and _ENTRY.match(line):
            flush()
            paragraph.append(line)
        else:
            paragraph.append(line)
    flush()
    _header(doc, header, text)
    _references(doc)
    return doc


def _tables(text: str) -> tuple[str, list[TableData]]:
    """The text without its tables, and the tables: a caption line ("Table 2: ...",
    "Table 2. ...") followed by at least two rows of as many cells, cells apart by a
    tab, two or more spaces, or `|` (a Markdown-style rule row is skipped). A PDF's
    reader writes a wide gap between two cells as three spaces."""
    lines = text.splitlines()
    kept: list[str] = []
    tables: list[TableData] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        caption = _TABLE_CAPTION.match(line)
        if caption is None:
            kept.append(line)
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        rows: list[list[str]] = []
        while j < len(lines):
            if _RULE_ROW.match(lines[j]) and rows:
                j += 1
                continue
            cells = _cells(lines[j])
            if len(cells) < 2 or (rows and len(cells) != len(rows[0])):
                break
            rows.append(cells)
            j += 1
        if len(rows) < 2:
            kept.append(line)
            i += 1
            continue
        tables.append(TableData(caption=line.strip(), rows=rows))
        kept.append("")
        i = j
    return "\n".join(kept), tables


def _cells(line: str) -> list[str]:
    stripped = line.strip()
    if "|" in stripped:
        return [c.strip() for c in stripped.strip("|").split("|")]
    return [c for c in _CELL_GAP.split(stripped) if c]


def _join_lines(lines: list[str]) -> str:
    text = ""
    for line in (part.strip() for part in lines):
        if _broken_identifier(text, line):
            text += line  # a DOI or URL broken at the end of a line
        elif text.endswith("-") and line[:1].islower():
            text = text[:-1] + line  # a word hyphenated at the end of a line
        else:
            text = f"{text} {line}" if text else line
    return text


def _broken_identifier(text: str, line: str) -> bool:
    """Whether `text` ends inside a DOI or URL that `line` continues: the last word
    holds a DOI or URL and ends in `.`, `/`, `-` or `_`, and the next word is no plain
    word but an identifier's piece (digits, or letters with `.` or `/` inside)."""
    last = text.rsplit(None, 1)[-1] if text.strip() else ""
    if not last.endswith((".", "/", "-", "_")) or not _IDENTIFIER_START.search(last):
        return False
    following = line.split(None, 1)[0] if line else ""
    return bool(_IDENTIFIER_PIECE.fullmatch(following)) and (
        any(c.isdigit() for c in following) or any(c in "./" for c in following.rstrip(".,;"))
    )


def _header(doc: Document, header: list[str], text: str) -> None:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if first and header:
        doc.title = first[:300]
    head = " ".join(header)
    doc.identifiers = dois_in_text(head) + arxiv_ids_in_text(head)
    if year := _YEAR.search(head):
        doc.year = int(year.group(0))
    if not doc.sections:
        # No headings at all: the whole text is one section of unknown purpose.
        doc.sections.append(Section("", "other", header[1:]))


def _references(doc: Document) -> None:
    entries = [p for s in doc.sections if s.kind == "references" for p in s.paragraphs]
    numbered = False
    for i, entry in enumerate(entries, start=1):
        m = _ENTRY.match(entry)
        numbered = numbered or m is not None
        key = (m.group(1) or m.group(2)) if m else str(i)
        identifiers = dois_in_text(entry) + arxiv_ids_in_text(entry)
        year = _YEAR.search(entry)
        doc.references.append(
            Reference(
                key=key,
                text=entry,
                identifiers=identifiers,
                year=int(year.group(0)) if year else None,
            )
        )
    if numbered:
        for section in doc.sections:
            section.paragraphs = [_NUMERIC_CITE.sub(_mark, p) for p in section.paragraphs]


def _mark(m: re.Match[str]) -> str:
    keys: list[str] = []
    for part in re.split(r"\s*,\s*", m.group(1)):
        bounds = re.split(r"\s*[\u2013-]\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            low, high = int(bounds[0]), int(bounds[1])
            keys += [str(n) for n in range(low, min(high, low + 50) + 1)]
        else:
            keys.append(part.strip())
    return "\u27e6cite:" + ",".join(keys) + "\u27e7"
