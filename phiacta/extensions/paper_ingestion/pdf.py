"""PDF papers (pypdfium2): the lines of each page in reading order, then read as plain
text.

PDFium finds the page's text lines and the box of every character. A two-column page
shows a gutter: a vertical band near the middle that almost no line crosses. Such a
page is read as the lines above the columns (a title across the page), then its left
column top to bottom, then its right column. A line is cut where a space is wider than
the font size: a line PDFium ran across the gutter (both columns written row by row)
falls apart into its columns, and a table's cells stay apart (three spaces).

Paragraphs end where the gap to the next line is clearly larger than the column's line
spacing, or where an indented line follows a line that ended a sentence. Page numbers
and running heads (the same line at the top or bottom of several pages) are dropped; a
sentence that goes on over a column or page break is joined again. Ligatures are
spelled out; nothing else is rewritten (no Unicode normalization: "10⁵" stays "10⁵").
"""

from __future__ import annotations

import ctypes
import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from phiacta.extensions.base import ExtractionError, Source
from phiacta.extensions.paper_ingestion.document import Document, section_kind
from phiacta.extensions.paper_ingestion.text import is_heading, structure

MAX_PAGES = 200
# At most this share of the lines beside a two-column page's columns may cross its
# gutter (wide captions), and at least this share of the other rows (and 3) must stand
# on each side of it (a last page's right column may be short).
MAX_CROSSING, MIN_SIDE, MIN_SIDE_ROWS = 0.25, 0.1, 3
_LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufffe": "-",
        "\x02": "-",
    }
)
CELL_GAP = "   "
_SPACES = re.compile(r"\s+")
_HYPHEN_MARKS = "\ufffe\x02"
_SEGMENT = re.compile(r"[^\r\n\ufffe\x02]+[\ufffe\x02]?")
_PAGE_NUMBER = re.compile(r"^(page\s*)?\d{1,4}(\s*(of|/)\s*\d{1,4})?$", re.I)
_SENTENCE_END = re.compile(r"[.!?:]['\"\u2019\u201d)\]]*$")


@dataclass
class Line:
    text: str
    left: float
    bottom: float
    right: float
    top: float
    # Its first and last characters (PDFium's character indexes).
    first: int = -1
    last: int = -1

    @property
    def height(self) -> float:
        return max(self.top - self.bottom, 0.1)


def read_pdf(source: Source) -> Document:
    try:
        pdf = pdfium.PdfDocument(source.content)
    except pdfium.PdfiumError as exc:
        raise ExtractionError(f"{source.name}: not a readable PDF: {exc}") from None
    try:
        count = len(pdf)
        pages = [_page_lines(pdf, i) for i in range(min(count, MAX_PAGES))]
        title = (pdf.get_metadata_dict().get("Title") or "").strip()
    except pdfium.PdfiumError as exc:
        raise ExtractionError(f"{source.name}: not a readable PDF: {exc}") from None
    finally:
        pdf.close()
    doc = structure(_join_pages(_without_running_heads(pages)))
    if len(title) > 3:
        doc.title = title
    if count > MAX_PAGES:
        doc.warnings.append(f"only the first {MAX_PAGES} pages were read")
    return doc


def _page_lines(pdf: pdfium.PdfDocument, index: int) -> list[list[Line]]:
    """The page's blocks in reading order (above the columns, left, right), each a list
    of lines top to bottom."""
    page = pdf[index]
    try:
        width = page.get_width()
        textpage = page.get_textpage()
        try:
            lines = _lines(textpage)
            gutter = _gutter(lines, width)
            if gutter is None:
                return [_top_to_bottom(lines)]
            return _columns(lines, gutter)
        finally:
            textpage.close()
    finally:
        page.close()


def _lines(textpage: pdfium.PdfTextPage) -> list[Line]:
    """The page's lines as PDFium finds them, each cut into pieces where a space is wider
    than the font size: the two columns of a page PDFium read row by row, the cells of
    a table. PDFium runs a line that ends in a hyphen on into the next one, the hyphen
    marked U+FFFE (or U+0002): a line ends after it too."""
    text = textpage.get_text_range()
    lines: list[Line] = []
    for m in _SEGMENT.finditer(text):
        segment = m.group(0)
        if not segment.strip():
            continue
        first = m.start() + (len(segment) - len(segment.lstrip()))
        last = m.start() + len(segment.rstrip()) - 1
        lines += _pieces(textpage, text, first, last)
    return lines


def _pieces(textpage: pdfium.PdfTextPage, text: str, first: int, last: int) -> list[Line]:
    """The line from `first` to `last`, cut at wide spaces. A piece's box runs from its
    first to its last character (not a hyphen mark), and from the line's baseline up by
    the font size (character boxes hug the glyphs: descenders would move it)."""
    x, y = ctypes.c_double(), ctypes.c_double()
    pdfium_c.FPDFText_GetCharOrigin(textpage.raw, first, ctypes.byref(x), ctypes.byref(y))
    size = pdfium_c.FPDFText_GetFontSize(textpage.raw, first) or 10.0
    bounds: list[tuple[int, int]] = []
    start = first
    for m in _SPACES.finditer(text, first, last + 1):
        before = textpage.get_charbox(m.start() - 1)[2]
        after = textpage.get_charbox(m.end())[0]
        if after - before > size:
            bounds.append((start, m.start() - 1))
            start = m.end()
    bounds.append((start, last))
    pieces = []
    for a, b in bounds:
        boxed = b - 1 if text[b] in _HYPHEN_MARKS and b > a else b
        left = textpage.get_charbox(a)[0]
        right = textpage.get_charbox(boxed)[2]
        pieces.append(
            Line(
                text[a : b + 1].translate(_LIGATURES),
                min(left, right),
                y.value,
                max(left, right),
                y.value + size,
                a,
                boxed,
            )
        )
    return pieces


def _gutter(lines: list[Line], width: float) -> float | None:
    """The x of the blank band between two columns, or None for one column."""
    if len(lines) < 10:
        return None
    lefts = np.array([line.left for line in lines])
    rights = np.array([line.right for line in lines])
    xs = np.arange(0.35 * width, 0.65 * width, 2.0)
    crossing = ((lefts[:, None] < xs) & (xs < rights[:, None])).sum(axis=0)
    # The least crossed position, the nearest to the middle of equals.
    best = min(range(len(xs)), key=lambda i: (crossing[i], abs(xs[i] - width / 2)))
    x = float(xs[best])
    sides = [line for line in lines if line.right <= x or line.left >= x]
    # Rows, not pieces: a justified line cut at its wide spaces is still one row.
    left = len({round(line.bottom) for line in sides if line.right <= x})
    right = len({round(line.bottom) for line in sides if line.left >= x})
    if len(sides) < 10 or min(left, right) < max(MIN_SIDE_ROWS, MIN_SIDE * (left + right)):
        return None
    # Lines across the page above or below both columns (a title, a full-width figure
    # or listing) do not make it one column; those beside the columns' lines do.
    low, high = min(line.bottom for line in sides), max(line.top for line in sides)
    beside = sum(
        1 for line in lines if line.left < x < line.right and line.top > low and line.bottom < high
    )
    return None if beside > MAX_CROSSING * (len(sides) + beside) else x


def _columns(lines: list[Line], x: float) -> list[list[Line]]:
    head: list[Line] = []
    left: list[Line] = []
    right: list[Line] = []
    for line in lines:
        if line.right <= x:
            left.append(line)
        elif line.left >= x:
            right.append(line)
        else:
            head.append(line)  # across the page: a title or a wide caption
    top = max((line.top for line in left + right), default=0.0)
    # Lines across the gutter above the columns come first; lower ones (a wide figure
    # caption) are read in place, in the left column's flow.
    above = [line for line in head if line.bottom >= top - 1]
    left += [line for line in head if line.bottom < top - 1]
    return [_top_to_bottom(above), _top_to_bottom(left), _top_to_bottom(right)]


def _top_to_bottom(lines: list[Line]) -> list[Line]:
    """Lines sorted down the page; pieces of one visual line joined left to right, a
    wide space between two (table cells) written as three spaces."""
    ordered = sorted(lines, key=lambda line: -line.top)
    merged: list[Line] = []
    for line in ordered:
        if merged and _same_row(merged[-1], line):
            last = merged[-1]
            a, b = (last, line) if last.left <= line.left else (line, last)
            space = CELL_GAP if b.left - a.right > a.height else " "
            merged[-1] = Line(
                f"{a.text}{space}{b.text}",
                min(a.left, b.left),
                min(a.bottom, b.bottom),
                max(a.right, b.right),
                max(a.top, b.top),
            )
        else:
            merged.append(line)
    return merged


def _same_row(a: Line, b: Line) -> bool:
    overlap = min(a.top, b.top) - max(a.bottom, b.bottom)
    return overlap > 0.5 * min(a.height, b.height) and (b.left >= a.right or a.left >= b.right)


def _without_running_heads(pages: list[list[list[Line]]]) -> list[list[list[Line]]]:
    """Pages without page numbers and without lines repeated at the top or bottom of
    several pages (running heads and feet)."""
    edges: Counter[str] = Counter()
    for blocks in pages:
        flat = sorted((line for block in blocks for line in block), key=lambda li: -li.top)
        for shape in {_shape(line.text) for line in flat[:2] + flat[-2:]}:
            edges[shape] += 1
    repeated = {shape for shape, n in edges.items() if n >= max(3, len(pages) // 3)}
    return [
        [
            [
                line
                for line in block
                if not _PAGE_NUMBER.match(line.text) and _shape(line.text) not in repeated
            ]
            for block in blocks
        ]
        for blocks in pages
    ]


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", text.strip().lower())


def _join_pages(pages: list[list[list[Line]]]) -> str:
    """The text of all pages: a blank line between paragraphs; a block (column, page)
    that ends inside a sentence runs on into the next one. In the bibliography, each
    entry is a paragraph."""
    out: list[str] = []
    in_references = False
    for blocks in pages:
        for block in blocks:
            if not block:
                continue
            if out and out[-1] != "" and _SENTENCE_END.search(out[-1]):
                out.append("")
            for paragraph_lines in _split_at_headings(block):
                heading = paragraph_lines[0].text
                if is_heading(heading):
                    in_references = section_kind(heading) == "references"
                    out += ["", heading, ""]
                    continue
                out += _paragraphs(paragraph_lines, in_references)
    return "\n".join(out)


def _split_at_headings(lines: list[Line]) -> list[list[Line]]:
    """The block cut before and after each heading line (a heading alone)."""
    parts: list[list[Line]] = [[]]
    for line in lines:
        if is_heading(line.text):
            parts += [[line], []]
        else:
            parts[-1].append(line)
    return [part for part in parts if part]


def _paragraphs(lines: list[Line], references: bool = False) -> list[str]:
    """The lines, a blank line where a paragraph ends: a gap clearly wider than the
    line spacing, or after a line that ended a sentence, a somewhat wider gap or an
    indented line. A bibliography set with hanging indents (entries flush left, their
    further lines indented) has an entry start at each flush line."""
    steps = [a.bottom - b.bottom for a, b in itertools.pairwise(lines)]
    pitch = statistics.median([s for s in steps if s > 0] or [12.0])
    margin = min(line.left for line in lines)
    indented = [3.0 <= line.left - margin <= 40.0 for line in lines]
    hanging = references and sum(indented) >= 0.2 * len(lines)
    out = [lines[0].text]
    for i in range(1, len(lines)):
        previous, line, step = lines[i - 1], lines[i], steps[i - 1]
        ended = bool(_SENTENCE_END.search(previous.text))
        if hanging:
            new = not indented[i] or step > 1.6 * pitch
        else:
            first_line = indented[i] and not indented[i - 1]
            new = step > 1.6 * pitch or (ended and (first_line or step > 1.25 * pitch))
        if new:
            out.append("")
        out.append(line.text)
    return out
