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
    start, end = gutter
    head, left, right = [], [], []
    columns_began = False
    for line in lines:
        crosses = line[start:end].strip() != ""
        if crosses and not columns_began:
            head.append(line.strip())
            continue
        if not crosses:
            columns_began = columns_began or bool(line[:start].strip() and line[end:].strip())
        left.append(line[:start].rstrip() if not crosses else line.strip())
        right.append("" if crosses else line[end:].strip())
    return "\n".join([*head, *(s.strip() for s in left), "", *right])


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
    # A position is gutter when at least 85 % of the lines (both columns filled on most
    # of them) are blank there.
    needed = 0.85 * len(text_lines)
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
