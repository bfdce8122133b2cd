"""PDF papers (pypdf, layout mode): the text of each page in reading order, then read
as plain text.

pypdf's layout mode places the page's text on a grid of characters as it stands on
the page. A two-column page shows a gutter: a band of character positions near the
middle that is blank on most lines. Such a page is read as its left column, top to
bottom, then its right column; lines that cross the gutter (a title, a wide table)
are read where they stand, before the columns.
"""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from phiacta.extensions.base import ExtractionError, Source
from phiacta.extensions.paper_ingestion.document import Document
from phiacta.extensions.paper_ingestion.text import structure

MIN_GUTTER = 2
MAX_PAGES = 200


def read_pdf(source: Source) -> Document:
    try:
        reader = PdfReader(io.BytesIO(source.content))
        pages = [page.extract_text(extraction_mode="layout") for page in reader.pages[:MAX_PAGES]]
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ExtractionError(f"{source.name}: not a readable PDF: {exc}") from None
    text = "\n\n".join(reading_order(page) for page in pages)
    doc = structure(text)
    meta = reader.metadata
    if meta is not None and meta.title and len(meta.title.strip()) > 3:
        doc.title = meta.title.strip()
    if len(reader.pages) > MAX_PAGES:
        doc.warnings.append(f"only the first {MAX_PAGES} pages were read")
    return doc


def reading_order(page: str) -> str:
    lines = page.splitlines()
    gutter = _gutter(lines)
    if gutter is None:
        return "\n".join(line.strip() for line in lines)
    head: list[str] = []
    left: list[str] = []
    right: list[str] = []
    for line in lines:
        parts = _split(line, gutter)
        if parts is None:
            # Across the gutter: a title or a wide figure caption, read in place.
            (head if not left and not right else left).append(line.strip())
            continue
        left.append(parts[0])
        right.append(parts[1])
    # The left column's blank rows below its last line are no paragraph break: its
    # text flows on at the top of the right column.
    while left and not left[-1]:
        left.pop()
    while right and not right[0]:
        right.pop(0)
    return "\n".join([*head, *left, *right])


def _split(line: str, gutter: tuple[int, int]) -> tuple[str, str] | None:
    """The line's left and right column text, or None when its text crosses the
    gutter: the split is the widest run of spaces that overlaps the gutter band."""
    start, end = gutter
    best: tuple[int, int] | None = None
    for m in re.finditer(r" {2,}", line):
        if (
            m.start() < end
            and m.end() > start
            and (best is None or m.end() - m.start() > best[1] - best[0])
        ):
            best = (m.start(), m.end())
    if best is not None:
        return line[: best[0]].strip(), line[best[1] :].strip()
    text = line.strip()
    if not text:
        return "", ""
    indent = len(line) - len(line.lstrip())
    if indent >= start:
        return "", text
    if len(line.rstrip()) <= end:
        return text, ""
    return None


def _gutter(lines: list[str]) -> tuple[int, int] | None:
    """The blank band near the middle of a two-column page, as (start, end) character
    positions, or None for a one-column page."""
    text_lines = [line for line in lines if line.strip()]
    if len(text_lines) < 10:
        return None
    width = max(len(line) for line in text_lines)
    blank = [0] * width
    for line in text_lines:
        padded = line.ljust(width)
        for i, ch in enumerate(padded):
            if ch == " ":
                blank[i] += 1
    # A position is gutter when at least 70 % of the lines are blank there (a long
    # line of the left column may reach into it).
    needed = 0.7 * len(text_lines)
    best: tuple[int, int] | None = None
    i = int(width * 0.3)
    while i < int(width * 0.7):
        if blank[i] >= needed:
            j = i
            while j < width and blank[j] >= needed:
                j += 1
            if j - i >= MIN_GUTTER and (best is None or j - i > best[1] - best[0]):
                best = (i, j)
            i = j
        i += 1
    if best is None:
        return None
    left_filled = sum(1 for line in text_lines if line[: best[0]].strip())
    right_filled = sum(1 for line in text_lines if line[best[1] :].strip())
    return best if min(left_filled, right_filled) >= 0.3 * len(text_lines) else None
