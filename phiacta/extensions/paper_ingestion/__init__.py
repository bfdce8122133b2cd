"""`paper-ingestion`: research papers into claims, edges, references and tables.

Offline by default. One reader per format (`pdf`, `markdown` with its BibTeX,
`jats`, `latex`, `text`) turns the file into a `Document`; `claims` chooses and types
the claim-like sentences and relates them; each reference with an identifier becomes
a `related_to` edge (attrs `relation: cites`) from the claims citing it (the paper's
first claim when the text does not say) to the cited work: a pending reference until
that work is ingested, then a link, in either order.
"""

from __future__ import annotations

from collections.abc import Callable

from phiacta.auth.manifest import Manifest
from phiacta.config import Settings
from phiacta.extensions.base import (
    ExtractedArtifact,
    ExtractedClaim,
    ExtractedEdge,
    ExtractionError,
    ExtractionResult,
    InputExtension,
    Source,
    SourceMetadata,
)
from phiacta.extensions.paper_ingestion.claims import (
    Candidate,
    choose_claims,
    internal_edges,
    to_claims,
)
from phiacta.extensions.paper_ingestion.document import Document
from phiacta.extensions.paper_ingestion.jats import read_jats
from phiacta.extensions.paper_ingestion.latex import read_latex
from phiacta.extensions.paper_ingestion.markdown import read_markdown
from phiacta.extensions.paper_ingestion.openai_extractor import OpenAIExtractor
from phiacta.extensions.paper_ingestion.pdf import read_pdf
from phiacta.extensions.paper_ingestion.text import read_text

MANIFEST = Manifest(
    id="paper-ingestion",
    name="Paper ingestion",
    version="1.0.0",
    capabilities=("ingest:pdf", "ingest:markdown", "ingest:jats", "ingest:latex", "ingest:text"),
    claim_types=("assertion", "observation", "method", "definition", "conjecture"),
    edge_types=("supports", "depends_on", "contradicts", "related_to"),
)
CITES = "related_to"

Reader = Callable[[Source], Document]
READERS: dict[str, Reader] = {
    ".pdf": read_pdf,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".xml": read_jats,
    ".nxml": read_jats,
    ".jats": read_jats,
    ".tex": read_latex,
    ".txt": read_text,
}


class PaperIngestion(InputExtension):
    """Reads papers offline, or with a chat model choosing the claims (`extractor`)."""

    manifest = MANIFEST

    def __init__(self, extractor: OpenAIExtractor | None = None) -> None:
        self._extractor = extractor
        self.extraction_method = (
            "paper-ingestion/openai" if extractor is not None else "paper-ingestion/heuristic"
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> PaperIngestion:
        choice = settings.paper_extractor or ("openai" if settings.openai_api_key else None)
        return cls(OpenAIExtractor(settings) if choice == "openai" else None)

    def accepts(self, source: Source) -> bool:
        return _suffix(source) in READERS

    def ingest(self, source: Source) -> ExtractionResult:
        reader = READERS.get(_suffix(source))
        if reader is None:
            raise ExtractionError(f"{source.name}: paper-ingestion reads {', '.join(READERS)}")
        document = reader(source)
        if self._extractor is not None:
            candidates, warnings = self._extractor.choose_claims(document)
            document.warnings += warnings
        else:
            candidates = choose_claims(document)
        return ExtractionResult(
            source=_metadata(document),
            claims=to_claims(candidates, self.extraction_method),
            edges=internal_edges(candidates) + _citations(document, candidates),
            artifacts=_tables(document),
            warnings=document.warnings + _reference_warnings(document),
        )


def _suffix(source: Source) -> str:
    name = source.name.lower()
    return name[name.rfind(".") :] if "." in name else ""


def _metadata(document: Document) -> SourceMetadata:
    return SourceMetadata(
        source_type="paper",
        title=document.title,
        identifiers=list(dict.fromkeys(document.identifiers)),
        authors=document.authors,
        year=document.year,
        venue=document.venue,
        attrs={"reference_count": len(document.references)},
    )


def _citations(document: Document, candidates: list[Candidate]) -> list[ExtractedEdge]:
    """One edge per (citing claim, cited work with an identifier); references the text
    never cites inside a claim hang off the paper's first claim."""
    if not candidates:
        return []
    by_key = {r.key: r for r in document.references if r.identifiers}
    edges: list[ExtractedEdge] = []
    cited: set[str] = set()
    for claim in candidates:
        for key in claim.cites:
            reference = by_key.get(key)
            if reference is not None:
                edges.append(_cites(f"s{claim.position}", reference.identifiers[0], key))
                cited.add(key)
    first = f"s{candidates[0].position}"
    edges += [_cites(first, r.identifiers[0], k) for k, r in by_key.items() if k not in cited]
    return edges


def _cites(claim_key: str, identifier: str, reference_key: str) -> ExtractedEdge:
    return ExtractedEdge(
        source=claim_key,
        edge_type=CITES,
        target_ref=identifier,
        strength=0.5,
        attrs={"relation": "cites", "reference": reference_key},
    )


def _tables(document: Document) -> list[ExtractedArtifact]:
    return [
        ExtractedArtifact(
            artifact_type="table",
            description=table.caption or None,
            structured_data={"rows": table.rows},
        )
        for table in document.tables
        if table.rows
    ]


def _reference_warnings(document: Document) -> list[str]:
    missing = sum(1 for r in document.references if not r.identifiers)
    return [f"{missing} references carry no identifier and link nowhere"] if missing else []


__all__ = ["MANIFEST", "ExtractedClaim", "PaperIngestion"]
