"""JATS XML (PubMed Central): metadata, sections, tables and the ref-list.

Parsed with defusedxml: the DTD a JATS file names in its DOCTYPE is never fetched,
entity declarations and external entities are refused.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from defusedxml import ElementTree as SafeET

from phiacta.extensions.base import Author, ExtractionError, Source
from phiacta.extensions.paper_ingestion.document import (
    Document,
    Reference,
    Section,
    TableData,
    section_kind,
)
from phiacta.identifiers import canonical_identifier, dois_in_text

_ID_TYPES = {"doi": "", "pmid": "pmid:", "pmc": "pmcid:", "arxiv": "arXiv:"}


def read_jats(source: Source) -> Document:
    try:
        root = SafeET.fromstring(
            source.content, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except Exception as exc:  # defusedxml raises ParseError or its own refusals
        raise ExtractionError(f"{source.name}: not readable JATS XML: {exc}") from None
    doc = Document()
    meta = root.find("./front/article-meta")
    journal = root.find("./front/journal-meta")
    if meta is not None:
        _metadata(doc, meta)
    if journal is not None:
        doc.venue = _text(journal.find(".//journal-title")) or None
    if meta is not None and (abstract := meta.find("abstract")) is not None:
        section = Section("Abstract", "abstract")
        section.paragraphs = [_paragraph(p) for p in abstract.iter("p")]
        doc.sections.append(section)
    body = root.find("body")
    if body is not None:
        for sec in body.findall("sec"):
            _section(doc, sec, None)
        loose = [_paragraph(p) for p in body.findall("p")]
        if loose:
            doc.sections.append(Section("", "other", loose))
    for wrap in root.iter("table-wrap"):
        _table(doc, wrap)
    doc.references = [_reference(ref) for ref in root.iter("ref")]
    return doc


def _text(element: ET.Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _metadata(doc: Document, meta: ET.Element) -> None:
    doc.title = _text(meta.find("./title-group/article-title")) or None
    for article_id in meta.findall("article-id"):
        prefix = _ID_TYPES.get(article_id.get("pub-id-type", ""))
        if prefix is not None and _text(article_id):
            doc.identifiers.append(prefix + _text(article_id))
    for related in meta.iter("related-article"):
        href = related.get("{http://www.w3.org/1999/xlink}href") or ""
        if related.get("ext-link-type") == "doi" and href:
            doc.identifiers.append(href)
    for contrib in meta.iter("contrib"):
        if contrib.get("contrib-type", "author") != "author":
            continue
        name = contrib.find("name")
        full = (
            f"{_text(name.find('given-names'))} {_text(name.find('surname'))}".strip()
            if name is not None
            else _text(contrib.find("string-name"))
        )
        orcid = next(
            (
                _text(c)
                for c in contrib.findall("contrib-id")
                if c.get("contrib-id-type") == "orcid"
            ),
            None,
        )
        if full:
            doc.authors.append(Author(full, orcid))
    year = meta.find("./pub-date/year")
    if year is not None and _text(year).isdigit():
        doc.year = int(_text(year))


def _paragraph(p: ET.Element) -> str:
    """The paragraph's text with each citation (`<xref ref-type="bibr" rid=...>`)
    replaced by a mark naming the cited references."""
    parts: list[str] = [p.text or ""]
    for child in p:
        if child.tag == "xref" and child.get("ref-type") == "bibr":
            parts.append("\u27e6cite:" + ",".join((child.get("rid") or "").split()) + "\u27e7")
        elif child.tag not in ("table-wrap", "fig", "disp-formula"):
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def _section(doc: Document, sec: ET.Element, parent_kind: str | None) -> None:
    heading = _text(sec.find("title"))
    kind = section_kind(heading) if heading else "other"
    if kind == "other" and parent_kind is not None:
        kind = parent_kind
    if sec.get("sec-type", "").startswith(("supplementary", "COI", "ack")):
        kind = "boilerplate"
    section = Section(heading, kind, [_paragraph(p) for p in sec.findall("p")])
    doc.sections.append(section)
    for child in sec.findall("sec"):
        _section(doc, child, kind)


def _table(doc: Document, wrap: ET.Element) -> None:
    rows = [[_text(cell) for cell in tr if cell.tag in ("td", "th")] for tr in wrap.iter("tr")]
    label = _text(wrap.find("label"))
    caption = _text(wrap.find("caption"))
    if rows:
        doc.tables.append(TableData(caption=f"{label} {caption}".strip(), rows=rows))


def _reference(ref: ET.Element) -> Reference:
    identifiers = []
    for pub_id in ref.iter("pub-id"):
        prefix = _ID_TYPES.get(pub_id.get("pub-id-type", ""))
        if prefix is not None and _text(pub_id):
            identifiers.append(canonical_identifier(prefix + _text(pub_id)))
    text = _text(ref)
    if not identifiers:
        identifiers = dois_in_text(text)
    year = re.search(r"\b(1[89]|20)\d{2}\b", _text(ref.find(".//year")))
    return Reference(
        key=ref.get("id", ""),
        text=text,
        identifiers=list(dict.fromkeys(identifiers)),
        title=_text(ref.find(".//article-title")) or None,
        year=int(year.group(0)) if year else None,
    )
