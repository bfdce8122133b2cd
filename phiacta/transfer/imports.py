"""Importing an export: NDJSON, or nanopublications in TriG.

Records go in chunks of `CHUNK_RECORDS`, each in one transaction: a chunk commits
whole or not at all, and a record whose row exists already is skipped, so importing
the same file twice adds nothing and an interrupted import is finished by running it
again. Ids are kept; external references are stored under their canonical spelling.

A source is never duplicated: one whose external reference (in any spelling) a source
in the database, or earlier in the file, already has is not written, and the records
naming it (provenance, edges) name that source instead. Written sources are given
their reference as an identifier, so bundles and pending references find them.

Every record is checked before its chunk is written (a known `type`, an object, the
fields its table needs, a UUID id), and problems are reported with the line (NDJSON) or the
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
from uuid import UUID

import orjson
import psycopg
from rdflib import RDF, Dataset, Graph, URIRef
from rdflib.namespace import PROV

from phiacta.errors import FieldProblem, ValidationFailed
from phiacta.identifiers import canonical_identifier
from phiacta.store import Connection
from phiacta.store import sources as source_store
from phiacta.store.export import KINDS
from phiacta.store.imports import Record, insert_records
from phiacta.transfer.vocabulary import PHI, SCHEMA

CHUNK_RECORDS = 5000
# A chunk ends early at this many sources: each holds its identifier's lock (the one
# bundles take) until the chunk commits, and locks share one table on the server.
CHUNK_SOURCES = 500

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
    problems = [
        FieldProblem(f"{where}.{name}", "is required")
        for name in REQUIRED[kind]
        if record.get(name) in (None, "")
    ]
    if kind != "edge_type" and not problems and not _is_uuid(record["id"]):
        problems.append(FieldProblem(f"{where}.id", "must be a UUID"))
    return problems


def _is_uuid(value: object) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


def canonical(record: Record) -> Record:
    """A source's external reference in its one stored spelling (`phiacta.identifiers`,
    as bundles store it)."""
    if record["type"] == "source" and record.get("external_ref") is not None:
        return {**record, "external_ref": canonical_identifier(record["external_ref"])}
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
    # An imported source's id -> the id of the source already known by its reference.
    known: dict[str, str] = {}
    chunk: list[tuple[str, object]] = []
    sources = 0
    for item in records:
        chunk.append(item)
        sources += isinstance(item[1], dict) and item[1].get("type") == "source"
        if len(chunk) >= CHUNK_RECORDS or sources >= CHUNK_SOURCES:
            await _import_chunk(conn, chunk, report, known)
            if on_chunk is not None:
                on_chunk(len(chunk))
            chunk, sources = [], 0
    if chunk:
        await _import_chunk(conn, chunk, report, known)
        if on_chunk is not None:
            on_chunk(len(chunk))
    return report


async def _import_chunk(
    conn: Connection,
    chunk: list[tuple[str, object]],
    report: ImportReport,
    known: dict[str, str],
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
                if not by_kind[kind]:
                    continue
                report.read[kind] += len(by_kind[kind])
                if kind == "source":
                    report.written[kind] += await _insert_sources(conn, by_kind[kind], known)
                    continue
                batch = [_naming_known_sources(record, known) for record in by_kind[kind]]
                report.written[kind] += await insert_records(conn, kind, batch)
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
        first, last = chunk[0][0], chunk[-1][0]
        message = exc.diag.message_primary or str(exc)
        detail = f" ({exc.diag.message_detail})" if exc.diag.message_detail else ""
        raise ValidationFailed(
            [FieldProblem(f"{first}..{last}", f"the database refused a record: {message}{detail}")]
        ) from None


async def _insert_sources(conn: Connection, records: list[Record], known: dict[str, str]) -> int:
    """Insert the sources whose reference no other source has (in the database or
    earlier in the file), each given its reference as an identifier; the others go
    into `known`. How many were new."""
    refs = sorted({r["external_ref"] for r in records if r.get("external_ref")})
    # The lock bundles take, so a bundle bringing the same reference meanwhile waits
    # and then finds the imported source.
    await source_store.lock_identifiers(conn, refs)
    owners = {
        ref: str(source_id)
        for ref, source_id in (await source_store.sources_of_each_identifier(conn, refs)).items()
    }
    new: list[Record] = []
    for record in records:
        ref = record.get("external_ref")
        owner = owners.get(ref) if ref else None
        if owner is not None and owner != str(UUID(record["id"])):
            known[record["id"]] = owner
            continue
        if ref:
            owners[ref] = str(UUID(record["id"]))
        new.append(record)
    written = await insert_records(conn, "source", new) if new else 0
    pairs = [(r["external_ref"], UUID(r["id"])) for r in new if r.get("external_ref")]
    await source_store.add_identifier_pairs(conn, pairs)
    return written


# The fields naming a source, by record kind.
_SOURCE_FIELDS = {"provenance": "source_id", "edge": "source_provenance"}


def _naming_known_sources(record: Record, known: dict[str, str]) -> Record:
    name = _SOURCE_FIELDS.get(record["type"])
    if name is not None and record.get(name) in known:
        return {**record, name: known[record[name]]}
    return record


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
