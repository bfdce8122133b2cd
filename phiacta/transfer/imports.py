"""Importing an export: NDJSON, or nanopublications in TriG.

Records go in chunks of `CHUNK_RECORDS`, each in one transaction: a chunk commits
whole or not at all, and a record whose row exists already is skipped, so importing
the same file twice adds nothing and an interrupted import is finished by running it
again. Ids are kept; external references are stored under their canonical spelling.

Every record is checked before its chunk is written (a known `type`, an object, the
fields its table needs), and problems are reported with the line (NDJSON) or the
subject IRI (TriG) they come from. A record the database refuses (a reference to a
row that is neither in the file nor in the database) fails its chunk with the
database's reason.

NDJSON streams line by line. TriG is parsed whole by rdflib first (it has no
streaming parser), so its memory grows with the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psycopg
from rdflib import RDF, Dataset, Graph, URIRef
from rdflib.namespace import PROV

from phiacta.errors import FieldProblem, ValidationFailed
from phiacta.ingest.submit import _ref as canonical_ref
from phiacta.store import Connection
from phiacta.store.export import KINDS
from phiacta.store.imports import Record, insert_records
from phiacta.transfer.vocabulary import PHI, SCHEMA

CHUNK_RECORDS = 5000

# The fields a record of each kind cannot do without.
REQUIRED: dict[str, tuple[str, ...]] = {
    "agent": ("id", "agent_type", "name"),
    "namespace": ("id", "name"),
    "edge_type": ("name", "category"),
    "source": ("id", "source_type"),
    "claim": ("id", "content"),
    "provenance": ("id", "claim_id", "source_id"),
    "edge": ("id", "source_id", "target_id", "edge_type"),
    "review": ("id", "claim_id", "reviewer_id", "verdict"),
}


@dataclass
class ImportReport:
    """Per kind: records read and rows newly written."""

    read: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    written: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))


def check_record(where: str, record: object) -> list[FieldProblem]:
    if not isinstance(record, dict):
        return [FieldProblem(where, "must be a JSON object")]
    kind = record.get("type")
    if kind not in REQUIRED:
        return [FieldProblem(f"{where}.type", f"unknown record type {kind!r}")]
    return [
        FieldProblem(f"{where}.{name}", "is required")
        for name in REQUIRED[kind]
        if record.get(name) in (None, "")
    ]


def canonical(record: Record) -> Record:
    """A source's external reference in the spelling bundles store it under (one rule
    for both write paths: `ingest.submit`'s)."""
    if record["type"] == "source" and record.get("external_ref") is not None:
        return {**record, "external_ref": canonical_ref(record["external_ref"])}
    return record


def ndjson_records(path: Path) -> Iterator[tuple[str, object]]:
    """(where, record) of each non-blank line; unreadable JSON is a record-level problem."""
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield f"line {number}", _Unreadable(str(exc))


@dataclass(frozen=True)
class _Unreadable:
    reason: str


async def import_records(
    conn: Connection,
    records: Iterable[tuple[str, object]],
    on_chunk: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import (where, record) pairs chunk by chunk. Raises ValidationFailed for bad
    records (nothing of their chunk is written; earlier chunks stay)."""
    report = ImportReport()
    chunk: list[tuple[str, object]] = []
    for item in records:
        chunk.append(item)
        if len(chunk) >= CHUNK_RECORDS:
            await _import_chunk(conn, chunk, report)
            if on_chunk is not None:
                on_chunk(len(chunk))
            chunk = []
    if chunk:
        await _import_chunk(conn, chunk, report)
        if on_chunk is not None:
            on_chunk(len(chunk))
    return report


async def _import_chunk(
    conn: Connection, chunk: list[tuple[str, object]], report: ImportReport
) -> None:
    problems: list[FieldProblem] = []
    by_kind: dict[str, list[Record]] = {kind: [] for kind in KINDS}
    for where, record in chunk:
        if isinstance(record, _Unreadable):
            problems.append(FieldProblem(where, f"not JSON: {record.reason}"))
            continue
        found = check_record(where, record)
        problems += found
        if not found and isinstance(record, dict):
            by_kind[record["type"]].append(canonical(record))
    if problems:
        raise ValidationFailed(problems)
    try:
        async with conn.transaction():
            for kind in KINDS:
                if by_kind[kind]:
                    written = await insert_records(conn, kind, by_kind[kind])
                    report.read[kind] += len(by_kind[kind])
                    report.written[kind] += written
    except psycopg.errors.IntegrityError as exc:
        first, last = chunk[0][0], chunk[-1][0]
        message = exc.diag.message_primary or str(exc)
        detail = f" ({exc.diag.message_detail})" if exc.diag.message_detail else ""
        raise ValidationFailed(
            [FieldProblem(f"{first}..{last}", f"the database refused a record: {message}{detail}")]
        ) from None


# Nanopublications (TriG) back to records: the inverse of `vocabulary`'s mapping.


def trig_records(path: Path) -> Iterator[tuple[str, object]]:
    dataset = Dataset(default_union=True)
    try:
        dataset.parse(path, format="trig")
    except Exception as exc:  # rdflib raises many parser error types
        raise ValidationFailed.single(str(path), f"not readable as TriG: {exc}") from None
    graph: Graph = dataset
    for kind, read in _READERS:
        subjects = {s for s in graph.subjects(RDF.type, kind) if isinstance(s, URIRef)}
        found = [(str(s), read(graph, s)) for s in subjects]
        # Older versions first, so a revision's `supersedes` finds its target.
        found.sort(key=lambda item: (item[1] or {}).get("version") or 0)
        yield from ((where, record) for where, record in found if record is not None)


def _id(node: object) -> str | None:
    text = str(node) if node is not None else ""
    return text.removeprefix("urn:uuid:") if text.startswith("urn:uuid:") else None


def _value(graph: Graph, subject: URIRef, predicate: URIRef) -> Any:
    node = graph.value(subject, predicate)
    if node is None:
        return None
    python = getattr(node, "toPython", None)
    value = python() if python is not None else node
    return value.isoformat() if hasattr(value, "isoformat") else value


def _agent(graph: Graph, s: URIRef) -> Record:
    return {
        "type": "agent",
        "id": _id(s),
        "agent_type": _value(graph, s, PHI.agentType),
        "name": _value(graph, s, SCHEMA.name),
        "external_id": _value(graph, s, SCHEMA.identifier),
        "trust_score": _value(graph, s, PHI.trustScore),
        "created_at": _value(graph, s, SCHEMA.dateCreated),
    }


def _namespace(graph: Graph, s: URIRef) -> Record:
    return {
        "type": "namespace",
        "id": _id(s),
        "name": _value(graph, s, SCHEMA.name),
        "parent_id": _id(graph.value(s, SCHEMA.isPartOf)),
        "description": _value(graph, s, SCHEMA.description),
        "created_at": _value(graph, s, SCHEMA.dateCreated),
    }


def _source(graph: Graph, s: URIRef) -> Record | None:
    if graph.value(s, PHI.sourceType) is None:
        return None  # a claim: also a prov:Entity
    return {
        "type": "source",
        "id": _id(s),
        "source_type": _value(graph, s, PHI.sourceType),
        "title": _value(graph, s, SCHEMA.name),
        "external_ref": _value(graph, s, SCHEMA.identifier),
        "content_hash": _value(graph, s, PHI.contentHash),
        "submitted_by": _id(graph.value(s, PROV.wasAttributedTo)),
        "created_at": _value(graph, s, SCHEMA.dateCreated),
    }


def _claim(graph: Graph, s: URIRef) -> Record:
    return {
        "type": "claim",
        "id": _id(s),
        "lineage_id": _id(graph.value(s, PHI.lineage)),
        "version": _value(graph, s, PHI.version),
        "claim_type": _value(graph, s, PHI.claimType),
        "content": _value(graph, s, SCHEMA.text),
        "formal_content": _value(graph, s, PHI.formalContent),
        "namespace_id": _id(graph.value(s, SCHEMA.isPartOf)),
        "created_by": _id(graph.value(s, PROV.wasAttributedTo)),
        "supersedes": _id(graph.value(s, PROV.wasRevisionOf)),
        "status": _value(graph, s, PHI.status),
        "created_at": _value(graph, s, SCHEMA.dateCreated),
    }


def _provenance(graph: Graph, s: URIRef) -> Record:
    return {
        "type": "provenance",
        "id": _id(s),
        "claim_id": _id(graph.value(None, PROV.qualifiedDerivation, s)),
        "source_id": _id(graph.value(s, PROV.entity)),
        "extracted_by": _id(graph.value(s, PROV.agent)),
        "extraction_method": _value(graph, s, PHI.extractionMethod),
        "location_in_source": _value(graph, s, PHI.locationInSource),
        "confidence": _value(graph, s, PHI.confidence),
        "created_at": _value(graph, s, SCHEMA.dateCreated),
    }


def _edge(graph: Graph, s: URIRef) -> Record:
    predicate = str(graph.value(s, RDF.predicate) or "")
    return {
        "type": "edge",
        "id": _id(s),
        "source_id": _id(graph.value(s, RDF.subject)),
        "target_id": _id(graph.value(s, RDF.object)),
        "edge_type": predicate.removeprefix(str(PHI)) if predicate.startswith(str(PHI)) else None,
        "strength": _value(graph, s, PHI.strength),
        "created_by": _id(graph.value(s, PROV.wasAttributedTo)),
        "source_provenance": _id(graph.value(s, PROV.wasDerivedFrom)),
        "created_at": _value(graph, s, SCHEMA.dateCreated),
    }


def _review(graph: Graph, s: URIRef) -> Record:
    return {
        "type": "review",
        "id": _id(s),
        "claim_id": _id(graph.value(s, SCHEMA.itemReviewed)),
        "reviewer_id": _id(graph.value(s, SCHEMA.author)),
        "verdict": _value(graph, s, PHI.verdict),
        "confidence": _value(graph, s, PHI.confidence),
        "comment": _value(graph, s, SCHEMA.reviewBody),
        "created_at": _value(graph, s, SCHEMA.dateCreated),
        "updated_at": _value(graph, s, SCHEMA.dateModified),
    }


# In import order, as the NDJSON export writes them.
_READERS: tuple[tuple[URIRef, Callable[[Graph, URIRef], Record | None]], ...] = (
    (PROV.Agent, _agent),
    (PHI.Namespace, _namespace),
    (PROV.Entity, _source),
    (SCHEMA.Claim, _claim),
    (PROV.Derivation, _provenance),
    (PHI.Edge, _edge),
    (SCHEMA.Review, _review),
)
