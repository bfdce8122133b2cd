"""The edges table: typed, directed relations between claims."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from psycopg import errors
from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.rows import EdgeRow
from phiacta.store.visibility import Visibility, claim_visible, hidden_draft

# ---------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------

EdgeDirection = Literal["outgoing", "incoming"]

EDGE_COLUMNS = """
    e.id, e.source_id, e.target_id, e.edge_type, e.strength, e.created_by,
    e.source_provenance, e.attrs, e.created_at
"""

# An edge is visible when both its ends are.
EDGE_VISIBLE = f"NOT {hidden_draft('e.source_id')} AND NOT {hidden_draft('e.target_id')}"

EDGES_BY_ID = f"""
SELECT {EDGE_COLUMNS}
FROM edges e
WHERE e.id = ANY(%(ids)s)
  AND {EDGE_VISIBLE}
"""

# The claim's own end of the edge, per direction (fixed fragments, never user input).
_OWN_END = {"outgoing": "e.source_id", "incoming": "e.target_id"}
_OTHER_END = {"outgoing": "e.target_id", "incoming": "e.source_id"}


async def edges_by_id(
    conn: Connection, ids: Sequence[UUID], visibility: Visibility
) -> dict[UUID, EdgeRow]:
    async with conn.cursor(row_factory=class_row(EdgeRow)) as cur:
        await cur.execute(EDGES_BY_ID, {"ids": list(ids)} | visibility.params())
        return {row.id: row for row in await cur.fetchall()}


def _edge_conditions(
    direction: EdgeDirection, edge_types: Sequence[str] | None, visibility: Visibility
) -> tuple[str, dict[str, Any]]:
    # The own end is a claim the caller already sees; only the other end is probed.
    conditions = [f"{_OWN_END[direction]} = k.id", f"NOT {hidden_draft(_OTHER_END[direction])}"]
    params: dict[str, Any] = visibility.params()
    if edge_types is not None:
        conditions.append("e.edge_type = ANY(%(edge_types)s)")
        params["edge_types"] = list(edge_types)
    return " AND ".join(conditions), params


async def edges_of_claims(
    conn: Connection,
    claim_ids: Sequence[UUID],
    direction: EdgeDirection,
    edge_types: Sequence[str] | None,
    *,
    limit: int,
    after: tuple[datetime, UUID] | None,
    visibility: Visibility,
) -> dict[UUID, list[EdgeRow]]:
    """For each claim, up to `limit` of its visible edges in creation order after `after`.

    One statement for all the claims: the DataLoader's batch.
    """
    where, params = _edge_conditions(direction, edge_types, visibility)
    if after is not None:
        where += " AND (e.created_at, e.id) > (%(after_at)s, %(after_id)s)"
        params |= {"after_at": after[0], "after_id": after[1]}
    query = f"""
SELECT k.id AS claim_id, page.*
FROM unnest(%(ids)s::uuid[]) AS k(id)
CROSS JOIN LATERAL (
    SELECT {EDGE_COLUMNS}
    FROM edges e
    WHERE {where}
    ORDER BY e.created_at, e.id
    LIMIT %(limit)s
) page
"""
    found: dict[UUID, list[EdgeRow]] = {claim_id: [] for claim_id in claim_ids}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params | {"ids": list(claim_ids), "limit": limit})
        for row in await cur.fetchall():
            claim_id = row.pop("claim_id")
            found[claim_id].append(EdgeRow(**row))
    return found


async def count_edges_of_claims(
    conn: Connection,
    claim_ids: Sequence[UUID],
    direction: EdgeDirection,
    edge_types: Sequence[str] | None,
    visibility: Visibility,
) -> dict[UUID, int]:
    where, params = _edge_conditions(direction, edge_types, visibility)
    query = f"""
SELECT k.id, (SELECT count(*) FROM edges e WHERE {where})
FROM unnest(%(ids)s::uuid[]) AS k(id)
"""
    cur = await conn.execute(query, params | {"ids": list(claim_ids)})
    return {row[0]: int(row[1]) for row in await cur.fetchall()}


# ---------------------------------------------------------------------------------------
# Writes: creating and deleting edges (the write path).
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewEdge:
    """One edge to insert; the id is chosen by the caller. Symmetric edge types must be
    given in canonical order already (see `canonical_ends`)."""

    id: UUID
    source_id: UUID
    target_id: UUID
    edge_type: str
    strength: float
    created_by: UUID
    source_provenance: UUID | None
    attrs: dict[str, Any]


class EdgeExists(Exception):
    """The same creator already made this edge (for symmetric types: in either order)."""


class SelfLoopRefused(Exception):
    """The edge type is anti-reflexive and the edge would join a claim to itself."""


def canonical_ends(source_id: UUID, target_id: UUID, *, symmetric: bool) -> tuple[UUID, UUID]:
    """Symmetric relations are stored once, as (smaller id, larger id): A-B and B-A are one
    row and the unique constraint sees them as the same. Python orders UUIDs as
    PostgreSQL does (by their 128-bit value)."""
    if symmetric and target_id < source_id:
        return target_id, source_id
    return source_id, target_id


INSERT_EDGES = """
INSERT INTO edges (id, source_id, target_id, edge_type, strength, created_by,
                   source_provenance, attrs)
SELECT n.id, n.source_id, n.target_id, n.edge_type, n.strength, n.created_by,
       n.source_provenance, n.attrs
FROM ROWS FROM (
    unnest(%(ids)b::uuid[]), unnest(%(source_ids)b::uuid[]), unnest(%(target_ids)b::uuid[]),
    unnest(%(edge_types)b::text[]), unnest(%(strengths)b::double precision[]),
    unnest(%(created_by)b::uuid[]), unnest(%(source_provenance)b::uuid[]),
    jsonb_array_elements(%(attrs)b::jsonb)
) AS n(id, source_id, target_id, edge_type, strength, created_by, source_provenance, attrs)
ON CONFLICT ON CONSTRAINT uq_edges_source_target_type_creator DO NOTHING
RETURNING id
"""

INSERT_EDGE = f"""
INSERT INTO edges AS e (id, source_id, target_id, edge_type, strength, created_by,
                          source_provenance, attrs)
VALUES (%(id)s, %(source_id)s, %(target_id)s, %(edge_type)s, %(strength)s, %(created_by)s,
        %(source_provenance)s, %(attrs)s)
RETURNING {EDGE_COLUMNS}
"""

LOCK_EDGE = f"""
SELECT {EDGE_COLUMNS}
FROM edges e
WHERE e.id = %(id)s
FOR UPDATE OF e
"""

DELETE_EDGE = """
DELETE FROM edges WHERE id = %(id)s
"""


async def insert_edges(conn: Connection, edges: Sequence[NewEdge]) -> set[UUID]:
    """Insert the edges in one statement, skipping any the same creator already made;
    the ids of the rows actually inserted."""
    if not edges:
        return set()
    cur = await conn.execute(
        INSERT_EDGES,
        {
            "ids": [e.id for e in edges],
            "source_ids": [e.source_id for e in edges],
            "target_ids": [e.target_id for e in edges],
            "edge_types": [e.edge_type for e in edges],
            "strengths": [e.strength for e in edges],
            "created_by": [e.created_by for e in edges],
            "source_provenance": [e.source_provenance for e in edges],
            "attrs": Jsonb([e.attrs for e in edges]),
        },
    )
    return {row[0] for row in await cur.fetchall()}


async def insert_edge(conn: Connection, edge: NewEdge) -> EdgeRow:
    """Insert one edge; raises `EdgeExists` or `SelfLoopRefused` (inside a savepoint, so
    the caller's transaction stays usable)."""
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(EdgeRow)) as cur:
            await cur.execute(
                INSERT_EDGE,
                {
                    "id": edge.id,
                    "source_id": edge.source_id,
                    "target_id": edge.target_id,
                    "edge_type": edge.edge_type,
                    "strength": edge.strength,
                    "created_by": edge.created_by,
                    "source_provenance": edge.source_provenance,
                    "attrs": Jsonb(edge.attrs),
                },
            )
            row = await cur.fetchone()
    except errors.UniqueViolation:
        raise EdgeExists from None
    except errors.CheckViolation:
        raise SelfLoopRefused from None
    assert row is not None
    return row


async def lock_edge(conn: Connection, edge_id: UUID) -> EdgeRow | None:
    """The edge, row-locked until the transaction ends; None when there is none."""
    async with conn.cursor(row_factory=class_row(EdgeRow)) as cur:
        await cur.execute(LOCK_EDGE, {"id": edge_id})
        return await cur.fetchone()


async def delete_edge(conn: Connection, edge_id: UUID) -> None:
    await conn.execute(DELETE_EDGE, {"id": edge_id})


# Why edges are carried forward when a claim is revised, rather than resolved by lineage
# when read: every read path (edge pages, the prefetch statement, the walk and path
# CTEs, evidence, views) stays a plain lookup of the `edges` indexes by claim id, at the
# price of one INSERT .. SELECT per revision, proportional to the old version's degree.
# Measured with bench/lineage_edges.py on 10k claims (2 cores shared with a load
# average of ~15, so absolute figures are inflated): a first page of outgoing edges read
# by claim id p50 2.35 ms / p95 10.4 ms, the same page gathered through every version of
# the lineage p50 2.47 / p95 12.4 ms (most lineages there have one version; the join
# grows with versions). Carrying forward costs the revision p50 18 ms at degree 10,
# 58 ms at degree 100 and 0.53 s at degree 1000. The read cost looks small per
# statement, but resolving by lineage has to be written into every read path (edge
# pages and counts, the prefetch statement, each level of the walk and path CTEs,
# evidence, views, at-risk walks) and paid on every read, while carrying forward is one
# statement in one write path; reads outnumber revisions by orders of magnitude, so the
# write pays.
#
# Each carried edge keeps its type, strength, creator, source provenance and creation
# time, with `attrs.carried_from` naming the edge it copies. Edges between versions of
# the same lineage (`supersedes`) are not carried; symmetric types are re-stored in
# canonical order; the same creator's identical edge is not made twice. The old
# version keeps its edges as they were.
CARRY_EDGES_FORWARD = """
INSERT INTO edges AS e (id, source_id, target_id, edge_type, strength, created_by,
                        source_provenance, attrs, created_at)
SELECT gen_random_uuid(),
       CASE WHEN t.is_symmetric THEN least(m.source_id, m.target_id) ELSE m.source_id END,
       CASE WHEN t.is_symmetric THEN greatest(m.source_id, m.target_id) ELSE m.target_id END,
       m.edge_type, m.strength, m.created_by, m.source_provenance,
       m.attrs || jsonb_build_object('carried_from', m.id::text), m.created_at
FROM (
    SELECT o.id, o.edge_type, o.strength, o.created_by, o.source_provenance, o.attrs,
           o.created_at,
           CASE WHEN o.source_id = %(old_id)s THEN %(new_id)s ELSE o.source_id END AS source_id,
           CASE WHEN o.target_id = %(old_id)s THEN %(new_id)s ELSE o.target_id END AS target_id
    FROM edges o
    JOIN claims other
      ON other.id = CASE WHEN o.source_id = %(old_id)s THEN o.target_id ELSE o.source_id END
    WHERE (o.source_id = %(old_id)s OR o.target_id = %(old_id)s)
      AND (other.lineage_id <> %(lineage_id)s OR other.id = %(old_id)s)
) m
JOIN edge_types t ON t.name = m.edge_type
ON CONFLICT ON CONSTRAINT uq_edges_source_target_type_creator DO NOTHING
"""


async def carry_edges_forward(
    conn: Connection, *, old_id: UUID, new_id: UUID, lineage_id: UUID
) -> int:
    """Copy every edge of `old_id` onto its new version `new_id` (see
    CARRY_EDGES_FORWARD); the number of edges made. Call it in the revising transaction."""
    cur = await conn.execute(
        CARRY_EDGES_FORWARD, {"old_id": old_id, "new_id": new_id, "lineage_id": lineage_id}
    )
    return cur.rowcount


MAX_EDGES_AMONG = 10_000

EDGES_AMONG = f"""
SELECT {EDGE_COLUMNS}
FROM edges e
WHERE e.source_id = ANY(%(ids)s) AND e.target_id = ANY(%(ids)s)
  AND {EDGE_VISIBLE}
ORDER BY e.created_at, e.id
LIMIT {MAX_EDGES_AMONG}
"""


async def edges_among(
    conn: Connection, claim_ids: Sequence[UUID], visibility: Visibility
) -> list[EdgeRow]:
    """The visible edges whose both ends are in `claim_ids` (at most 10,000)."""
    async with conn.cursor(row_factory=class_row(EdgeRow)) as cur:
        await cur.execute(EDGES_AMONG, {"ids": list(claim_ids)} | visibility.params())
        return await cur.fetchall()


@dataclass(frozen=True)
class DirectEvidenceRow:
    claim_id: UUID
    supporting_count: int
    corroborating_count: int
    contradicting_count: int
    supporting_strength: float
    contradicting_strength: float


# Depth-1 evidence of many claims in one statement (supports and corroborates point at
# the claim; contradicts is symmetric, so both directions count). Retracted evidence is
# left out, as in traversal.
DIRECT_EVIDENCE = f"""
SELECT k.id AS claim_id,
       count(*) FILTER (WHERE ev.edge_type = 'supports')::integer AS supporting_count,
       count(*) FILTER (WHERE ev.edge_type = 'corroborates')::integer AS corroborating_count,
       count(*) FILTER (WHERE ev.edge_type = 'contradicts')::integer AS contradicting_count,
       coalesce(sum(ev.strength) FILTER (WHERE ev.edge_type <> 'contradicts'), 0)
           AS supporting_strength,
       coalesce(sum(ev.strength) FILTER (WHERE ev.edge_type = 'contradicts'), 0)
           AS contradicting_strength
FROM unnest(%(ids)s::uuid[]) AS k(id)
LEFT JOIN LATERAL (
    SELECT DISTINCT ON (other.id, e.edge_type) e.edge_type, e.strength
    FROM (
        SELECT e.edge_type, e.strength, e.source_id AS other_id
        FROM edges e
        WHERE e.target_id = k.id AND e.edge_type IN ('supports', 'corroborates', 'contradicts')
      UNION ALL
        SELECT e.edge_type, e.strength, e.target_id
        FROM edges e
        WHERE e.source_id = k.id AND e.edge_type = 'contradicts'
    ) e
    JOIN claims other ON other.id = e.other_id AND other.status <> 'retracted'
        AND {claim_visible("other")}
    ORDER BY other.id, e.edge_type, e.strength DESC
) ev ON TRUE
GROUP BY k.id
"""


async def direct_evidence(
    conn: Connection, claim_ids: Sequence[UUID], visibility: Visibility
) -> dict[UUID, DirectEvidenceRow]:
    async with conn.cursor(row_factory=class_row(DirectEvidenceRow)) as cur:
        await cur.execute(DIRECT_EVIDENCE, {"ids": list(claim_ids)} | visibility.params())
        return {row.claim_id: row for row in await cur.fetchall()}
