"""A paper as the readers see it, whatever its format: metadata, sections of
paragraphs in reading order, the bibliography and the tables."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from phiacta.extensions.base import Author

# Section kinds, from a heading's words. Order matters: the first match wins.
_KINDS = [
    ("acknowledgements", r"acknowledg|funding|financial support|grant"),
    ("references", r"^references?$|bibliograph|literature cited|works cited"),
    (
        "boilerplate",
        r"author contributions?|competing interests?|conflicts? of interest|"
        r"declarations?|ethics|data availability|code availability|supplementary|"
        r"licen[cs]e|copyright|affiliations?|abbreviations|appendix",
    ),
    ("abstract", r"abstract|summary$"),
    ("introduction", r"introduction|background|motivation|statement of need|related work"),
    (
        "methods",
        r"method|materials|experimental (setup|design|procedure)|implementation|"
        r"approach|study design|participants|data collection|procedure|model",
    ),
    ("results", r"results?|findings|evaluation|experiments?|performance|benchmark|analysis"),
    ("discussion", r"discussion|limitations"),
    ("conclusion", r"conclu|outlook|future work|summary and"),
]
SKIPPED_KINDS = frozenset({"acknowledgements", "references", "boilerplate"})


def section_kind(heading: str) -> str:
    """What a section is for, from its heading ("3.2 Results and discussion" →
    results)."""
    words = re.sub(r"^(?:\d+(?:\.\d+)*|[ivxlc]+)[.)]?\s+", "", heading.strip().lower())
    words = words.strip(" :.")
    for kind, pattern in _KINDS:
        if re.search(pattern, words):
            return kind
    return "other"


@dataclass
class Section:
    heading: str
    kind: str
    paragraphs: list[str] = field(default_factory=list)


@dataclass
class Reference:
    """One entry of the bibliography. `key` is how the text cites it (a BibTeX key, a
    JATS id, or the number of a numbered list)."""

    key: str
    text: str = ""
    identifiers: list[str] = field(default_factory=list)
    title: str | None = None
    year: int | None = None


@dataclass
class TableData:
    caption: str
    rows: list[list[str]]


@dataclass
class Document:
    title: str | None = None
    authors: list[Author] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    year: int | None = None
    venue: str | None = None
    sections: list[Section] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    tables: list[TableData] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # How the format marks a citation inside a paragraph, group 1 holding the key(s),
    # comma or semicolon separated ("[@smith2020; @doe2021]", "\cite{a,b}", "[3, 4]").
    citation_pattern: str | None = None
