"""Writing exported records back, ids kept: the inverse of `store.export`.

Each function inserts a chunk of records of one kind in one statement (the chunk
travels as one JSON parameter, unpacked by `jsonb_to_recordset`) and skips any record
whose row already exists (`ON CONFLICT DO NOTHING`: the same id, or the same natural
key, such as one review per reviewer and claim). Importing the same records twice
therefore adds nothing. Callers wrap chunks in a transaction: a chunk commits whole
or not at all.

Claims arrive without embeddings (they are derived data); `search_tsv` is generated.
No events are written: an import restores knowledge, it does not announce news.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from phiacta.store import Connection

Record = dict[str, Any]

INSERT_AGENTS = """
INSERT INTO agents (id, agent_type, name, external_id, trust_score, attrs, created_at)
SELECT r.id, r.agent_type, r.name, r.external_id, coalesce(r.trust_score, 1.0),
       coalesce(r.attrs, '{}'), coalesce(r.created_at, now())
FROM jsonb_to_recordset(%(records)s) AS r(
    id uuid, agent_type text, name text, external_id text, trust_score double precision,
    attrs jsonb, created_at timestamptz)
ON CONFLICT DO NOTHING
"""

INSERT_NAMESPACES = """
INSERT INTO namespaces (id, name, parent_id, description, attrs, created_at)
SELECT r.id, r.name, r.parent_id, r.description, coalesce(r.attrs, '{}'),
       coalesce(r.created_at, now())
FROM jsonb_to_recordset(%(records)s) AS r(
    id uuid, name text, parent_id uuid, description text, attrs jsonb, created_at timestamptz)
ON CONFLICT DO NOTHING
"""

INSERT_EDGE_TYPES = """
INSERT INTO edge_types (name, description, inverse_name, is_transitive, is_symmetric,
                        is_anti_reflexive, category, attrs, created_at)
SELECT r.name, r.description, r.inverse_name, coalesce(r.is_transitive, false),
       coalesce(r.is_symmetric, false), coalesce(r.is_anti_reflexive, true), r.category,
       coalesce(r.attrs, '{}'), coalesce(r.created_at, now())
FROM jsonb_to_recordset(%(records)s) AS r(
    name text, description text, inverse_name text, is_transitive boolean,
    is_symmetric boolean, is_anti_reflexive boolean, category text, attrs jsonb,
    created_at timestamptz)
ON CONFLICT DO NOTHING
"""

INSERT_SOURCES = """
INSERT INTO sources (id, source_type, title, external_ref, content_hash, submitted_by,
                     attrs, created_at)
SELECT r.id, r.source_type, r.title, r.external_ref, r.content_hash, r.submitted_by,
       coalesce(r.attrs, '{}'), coalesce(r.created_at, now())
FROM jsonb_to_recordset(%(records)s) AS r(
    id uuid, source_type text, title text, external_ref text, content_hash text,
    submitted_by uuid, attrs jsonb, created_at timestamptz)
ON CONFLICT DO NOTHING
"""

INSERT_CLAIMS = """
INSERT INTO claims (id, lineage_id, version, claim_type, content, formal_content,
                    namespace_id, created_by, supersedes, status, attrs, created_at)
SELECT r.id, coalesce(r.lineage_id, r.id), coalesce(r.version, 1),
       coalesce(r.claim_type, 'assertion'), r.content, r.formal_content, r.namespace_id,
       r.created_by, r.supersedes, coalesce(r.status, 'active'), coalesce(r.attrs, '{}'),
       coalesce(r.created_at, now())
FROM jsonb_to_recordset(%(records)s) AS r(
    id uuid, lineage_id uuid, version integer, claim_type text, content text,
    formal_content text, namespace_id uuid, created_by uuid, supersedes uuid, status text,
    attrs jsonb, created_at timestamptz)
ORDER BY r.version
ON CONFLICT DO NOTHING
"""

INSERT_PROVENANCE = """
INSERT INTO provenance (id, claim_id, source_id, extracted_by, extraction_method,
                        location_in_source, confidence, attrs, created_at)
SELECT r.id, r.claim_id, r.source_id, r.extracted_by, r.extraction_method,
       r.location_in_source, r.confidence, coalesce(r.attrs, '{}'),
       coalesce(r.created_at, now())
FROM jsonb_to_recordset(%(records)s) AS r(
    id uuid, claim_id uuid, source_id uuid, extracted_by uuid, extraction_method text,
    location_in_source text, confidence double precision, attrs jsonb,
    created_at timestamptz)
ON CONFLICT DO NOTHING
"""

INSERT_EDGES = """
INSERT INTO edges (id, source_id, target_id, edge_type, strength, created_by,
                   source_provenance, attrs, created_at)
SELECT r.id, r.source_id, r.target_id, r.edge_type, coalesce(r.strength, 1.0), r.created_by,
       r.source_provenance, coalesce(r.attrs, '{}'), coalesce(r.created_at, now())
FROM jsonb_to_recordset(%(records)s) AS r(
    id uuid, source_id uuid, target_id uuid, edge_type text, strength double precision,
    created_by uuid, source_provenance uuid, attrs jsonb, created_at timestamptz)
ON CONFLICT DO NOTHING
"""

INSERT_REVIEWS = """
INSERT INTO reviews (id, claim_id, reviewer_id, verdict, confidence, comment, attrs,
                     created_at, updated_at)
SELECT r.id, r.claim_id, r.reviewer_id, r.verdict, coalesce(r.confidence, 1.0), r.comment,
       coalesce(r.attrs, '{}'), coalesce(r.created_at, now()),
       coalesce(r.updated_at, r.created_at, now())
FROM jsonb_to_recordset(%(records)s) AS r(
    id uuid, claim_id uuid, reviewer_id uuid, verdict text, confidence double precision,
    comment text, attrs jsonb, created_at timestamptz, updated_at timestamptz)
ON CONFLICT DO NOTHING
"""

INSERTS = {
    "agent": INSERT_AGENTS,
    "namespace": INSERT_NAMESPACES,
    "edge_type": INSERT_EDGE_TYPES,
    "source": INSERT_SOURCES,
    "claim": INSERT_CLAIMS,
    "provenance": INSERT_PROVENANCE,
    "edge": INSERT_EDGES,
    "review": INSERT_REVIEWS,
}


async def insert_records(conn: Connection, kind: str, records: Sequence[Record]) -> int:
    """Insert records of one kind, skipping those already present; how many were new."""
    cur = await conn.execute(INSERTS[kind], {"records": Jsonb(list(records))})
    return max(cur.rowcount, 0)
