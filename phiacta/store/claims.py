"""The claims table: immutable versions of atomic scientific statements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.vectors import packed, use_packed_vectors
from phiacta.store.visibility import listed_claim


@dataclass(frozen=True)
class ClaimRow:
    id: UUID
    lineage_id: UUID
    version: int
    claim_type: str
    content: str
    formal_content: str | None
    namespace_id: UUID | None
    created_by: UUID | None
    supersedes: UUID | None
    status: str
    attrs: dict[str, Any]
    created_at: datetime
    is_latest: bool


# `is_latest` is computed, never stored: versions are immutable rows and a stored flag
# would have to be flipped on the old row in the same transaction as every revision.
CLAIM_COLUMNS = """
    c.id, c.lineage_id, c.version, c.claim_type, c.content, c.formal_content,
    c.namespace_id, c.created_by, c.supersedes, c.status, c.attrs, c.created_at,
    NOT EXISTS (
        SELECT 1 FROM claims newer
        WHERE newer.lineage_id = c.lineage_id AND newer.version > c.version
    ) AS is_latest
"""

CLAIMS_BY_ID = f"""
SELECT {CLAIM_COLUMNS}
FROM claims c
WHERE c.id = ANY(%(ids)s)
"""


async def claims_by_id(conn: Connection, ids: list[UUID]) -> dict[UUID, ClaimRow]:
    async with conn.cursor(row_factory=class_row(ClaimRow)) as cur:
        await cur.execute(CLAIMS_BY_ID, {"ids": ids})
        return {row.id: row for row in await cur.fetchall()}


async def claim_by_id(conn: Connection, claim_id: UUID) -> ClaimRow | None:
    return (await claims_by_id(conn, [claim_id])).get(claim_id)


# ---------------------------------------------------------------------------------------
# Reads: filtered lists, versions, confidence and nearest neighbours.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimFilterSpec:
    """Which claims a list, count or search may return. `None` means "no condition"."""

    namespace_ids: list[UUID] | None = None
    claim_types: list[str] | None = None
    statuses: list[str] | None = None
    created_by: UUID | None = None
    source_id: UUID | None = None
    latest_only: bool = True
    include_retracted: bool = False
    attrs: dict[str, Any] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True)
class ConfidenceRow:
    claim_id: UUID
    review_count: int
    endorsement_count: int
    dispute_count: int
    mean_endorsement_confidence: float | None
    epistemic_status: str


@dataclass(frozen=True)
class SimilarClaimRow:
    of_id: UUID
    claim: ClaimRow
    similarity: float


# A version is the latest of its lineage when no newer version exists; the
# (lineage_id, version DESC) index answers this per row.
IS_LATEST = """NOT EXISTS (
        SELECT 1 FROM claims newer
        WHERE newer.lineage_id = c.lineage_id AND newer.version > c.version
    )"""


def claim_filter_sql(spec: ClaimFilterSpec) -> tuple[str, dict[str, Any]]:
    """The WHERE conditions (on alias `c`) and parameters of a filter.

    Only fixed SQL fragments are joined; every value travels as a parameter.
    """
    conditions: list[str] = ["TRUE"]
    params: dict[str, Any] = {}
    if spec.namespace_ids is not None:
        conditions.append("c.namespace_id = ANY(%(f_namespace_ids)s)")
        params["f_namespace_ids"] = spec.namespace_ids
    if spec.claim_types is not None:
        conditions.append("c.claim_type = ANY(%(f_claim_types)s)")
        params["f_claim_types"] = spec.claim_types
    if spec.statuses is not None:
        conditions.append("c.status = ANY(%(f_statuses)s)")
        params["f_statuses"] = spec.statuses
    elif not spec.include_retracted:
        conditions.append(listed_claim("c").as_string())
    if spec.created_by is not None:
        conditions.append("c.created_by = %(f_created_by)s")
        params["f_created_by"] = spec.created_by
    if spec.source_id is not None:
        conditions.append(
            "EXISTS (SELECT 1 FROM provenance p"
            " WHERE p.claim_id = c.id AND p.source_id = %(f_source_id)s)"
        )
        params["f_source_id"] = spec.source_id
    if spec.latest_only:
        conditions.append(IS_LATEST)
    if spec.attrs is not None:
        conditions.append("c.attrs @> %(f_attrs)s")
        params["f_attrs"] = Jsonb(spec.attrs)
    if spec.created_after is not None:
        conditions.append("c.created_at >= %(f_created_after)s")
        params["f_created_after"] = spec.created_after
    if spec.created_before is not None:
        conditions.append("c.created_at < %(f_created_before)s")
        params["f_created_before"] = spec.created_before
    return "\n  AND ".join(conditions), params


async def list_claims(
    conn: Connection,
    spec: ClaimFilterSpec,
    *,
    limit: int,
    after: tuple[datetime, UUID] | None,
    descending: bool,
) -> list[ClaimRow]:
    """Up to `limit` claims in creation order, strictly after the keyset `after`."""
    where, params = claim_filter_sql(spec)
    if after is not None:
        comparison = "<" if descending else ">"
        where += f"\n  AND (c.created_at, c.id) {comparison} (%(after_at)s, %(after_id)s)"
        params |= {"after_at": after[0], "after_id": after[1]}
    order = "DESC" if descending else "ASC"
    query = f"""
SELECT {CLAIM_COLUMNS}
FROM claims c
WHERE {where}
ORDER BY c.created_at {order}, c.id {order}
LIMIT %(limit)s
"""
    async with conn.cursor(row_factory=class_row(ClaimRow)) as cur:
        await cur.execute(query, params | {"limit": limit})
        return await cur.fetchall()


async def count_claims(conn: Connection, spec: ClaimFilterSpec) -> int:
    where, params = claim_filter_sql(spec)
    cur = await conn.execute(f"SELECT count(*) FROM claims c WHERE {where}", params)
    row = await cur.fetchone()
    return int(row[0]) if row else 0


MAX_VERSIONS = 1000

VERSIONS_OF_LINEAGES = f"""
SELECT v.*
FROM unnest(%(lineage_ids)s::uuid[]) AS l(id)
CROSS JOIN LATERAL (
    SELECT {CLAIM_COLUMNS}
    FROM claims c
    WHERE c.lineage_id = l.id
    ORDER BY c.version
    LIMIT {MAX_VERSIONS}
) v
"""


async def versions_of_lineages(
    conn: Connection, lineage_ids: list[UUID]
) -> dict[UUID, list[ClaimRow]]:
    """Every version of each lineage, oldest first (at most MAX_VERSIONS each)."""
    found: dict[UUID, list[ClaimRow]] = {lineage: [] for lineage in lineage_ids}
    async with conn.cursor(row_factory=class_row(ClaimRow)) as cur:
        await cur.execute(VERSIONS_OF_LINEAGES, {"lineage_ids": lineage_ids})
        for row in await cur.fetchall():
            found[row.lineage_id].append(row)
    return found


# Read from the live view, never from the materialized claims_with_confidence: a review
# must show on the very next request.
CONFIDENCE_OF_CLAIMS = """
SELECT claim_id, review_count, endorsement_count, dispute_count,
       mean_endorsement_confidence, epistemic_status
FROM claim_confidence
WHERE claim_id = ANY(%(ids)s)
"""


async def confidence_of_claims(conn: Connection, ids: list[UUID]) -> dict[UUID, ConfidenceRow]:
    async with conn.cursor(row_factory=class_row(ConfidenceRow)) as cur:
        await cur.execute(CONFIDENCE_OF_CLAIMS, {"ids": ids})
        return {row.claim_id: row for row in await cur.fetchall()}


MAX_SIMILAR = 50

# Other lineages only (a claim's own versions are not "similar claims"), retracted left
# out; the inner ORDER BY uses the ANN index once per claim asked about.
SIMILAR_TO_CLAIMS = f"""
SELECT src.id AS of_id, s.*
FROM claims src
CROSS JOIN LATERAL (
    SELECT {CLAIM_COLUMNS}, 1 - (c.embedding <=> src.embedding) AS similarity
    FROM claims c
    WHERE c.embedding IS NOT NULL
      AND c.lineage_id <> src.lineage_id
      AND c.status <> 'retracted'
    ORDER BY c.embedding <=> src.embedding
    LIMIT %(limit)s
) s
WHERE src.id = ANY(%(ids)s) AND src.embedding IS NOT NULL
"""


async def similar_to_claims(
    conn: Connection, ids: list[UUID], limit: int
) -> dict[UUID, list[SimilarClaimRow]]:
    found: dict[UUID, list[SimilarClaimRow]] = {claim_id: [] for claim_id in ids}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(SIMILAR_TO_CLAIMS, {"ids": ids, "limit": limit})
        for row in await cur.fetchall():
            of_id = row.pop("of_id")
            similarity = float(row.pop("similarity"))
            found[of_id].append(SimilarClaimRow(of_id, ClaimRow(**row), similarity))
    return found


# ---------------------------------------------------------------------------------------
# Writes: new lineages, revisions, status changes and embeddings (the write path).
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewClaim:
    """One claim version to insert; ids are chosen by the caller."""

    id: UUID
    lineage_id: UUID
    version: int
    claim_type: str
    content: str
    formal_content: str | None
    namespace_id: UUID | None
    created_by: UUID
    supersedes: UUID | None
    status: str
    embedding: list[float] | None
    attrs: dict[str, Any]


@dataclass(frozen=True)
class NearDuplicateRow:
    position: int
    claim_id: UUID
    similarity: float


@dataclass(frozen=True)
class MissingEmbeddingRow:
    id: UUID
    content: str
    created_at: datetime


# One statement for any number of claims: the arrays travel as parameters and unnest
# zips them back into rows. Embeddings travel as text so NULLs mix freely with vectors.
INSERT_CLAIMS = """
INSERT INTO claims (
    id, lineage_id, version, claim_type, content, formal_content, namespace_id,
    created_by, supersedes, status, embedding, attrs
)
SELECT n.id, n.lineage_id, n.version, n.claim_type, n.content, n.formal_content,
       n.namespace_id, n.created_by, n.supersedes, n.status, n.embedding, n.attrs
FROM ROWS FROM (
    unnest(%(ids)b::uuid[]), unnest(%(lineage_ids)b::uuid[]), unnest(%(versions)b::integer[]),
    unnest(%(claim_types)b::text[]), unnest(%(contents)b::text[]),
    unnest(%(formal_contents)b::text[]), unnest(%(namespace_ids)b::uuid[]),
    unnest(%(created_by)b::uuid[]), unnest(%(supersedes)b::uuid[]),
    unnest(%(statuses)b::text[]), unnest(%(embeddings)b::vector[]),
    jsonb_array_elements(%(attrs)b::jsonb)
) AS n(id, lineage_id, version, claim_type, content, formal_content, namespace_id,
       created_by, supersedes, status, embedding, attrs)
"""

# Trap: under READ COMMITTED a `FOR UPDATE` that waited for a concurrent reviser returns
# the re-read row, but any subquery of that same statement still sees the old snapshot.
# So the lock is taken here and "is it still the latest?" is asked by a later statement.
LOCK_CLAIM = f"""
SELECT {CLAIM_COLUMNS}
FROM claims c
WHERE c.id = %(id)s
FOR UPDATE OF c
"""

LATEST_VERSION_OF_LINEAGE = """
SELECT id, version
FROM claims
WHERE lineage_id = %(lineage_id)s
ORDER BY version DESC
LIMIT 1
"""

SET_CLAIM_STATUS = """
UPDATE claims SET status = %(status)s WHERE id = %(id)s
"""

# The ANN index answers each probe; only the single nearest neighbour matters here.
# `exclude` leaves out claims the caller's own transaction wrote (the iterative scan the
# pool turns on keeps the index scan going past them).
NEAREST_EXISTING_CLAIMS = """
SELECT q.position, n.id AS claim_id, n.similarity
FROM unnest(%(vectors)b::vector[]) WITH ORDINALITY AS q(vector, position)
CROSS JOIN LATERAL (
    SELECT c.id, 1 - (c.embedding <=> q.vector) AS similarity
    FROM claims c
    WHERE c.embedding IS NOT NULL
      AND c.id <> ALL(%(exclude)b::uuid[])
    ORDER BY c.embedding <=> q.vector
    LIMIT 1
) n
WHERE n.similarity >= %(threshold)s
ORDER BY q.position
"""

CLAIMS_MISSING_EMBEDDING = """
SELECT id, content, created_at
FROM claims
WHERE embedding IS NULL
  AND (created_at, id) > (%(after_at)s, %(after_id)s)
ORDER BY created_at, id
LIMIT %(limit)s
"""

SET_EMBEDDINGS = """
UPDATE claims c
SET embedding = v.embedding::vector
FROM unnest(%(ids)s::uuid[], %(embeddings)s::text[]) AS v(id, embedding)
WHERE c.id = v.id AND c.embedding IS NULL
"""


def vector_text(vector: Sequence[float] | None) -> str | None:
    """pgvector's text form, `[0.1,0.2,...]`."""
    if vector is None:
        return None
    return "[" + ",".join(map(repr, vector)) + "]"


async def insert_claims(conn: Connection, claims: Sequence[NewClaim]) -> None:
    """Insert every claim in one statement; call it inside the writing transaction."""
    if not claims:
        return
    await use_packed_vectors(conn)
    await conn.execute(
        INSERT_CLAIMS,
        {
            "ids": [c.id for c in claims],
            "lineage_ids": [c.lineage_id for c in claims],
            "versions": [c.version for c in claims],
            "claim_types": [c.claim_type for c in claims],
            "contents": [c.content for c in claims],
            "formal_contents": [c.formal_content for c in claims],
            "namespace_ids": [c.namespace_id for c in claims],
            "created_by": [c.created_by for c in claims],
            "supersedes": [c.supersedes for c in claims],
            "statuses": [c.status for c in claims],
            "embeddings": packed([c.embedding for c in claims]),
            "attrs": Jsonb([c.attrs for c in claims]),
        },
    )


async def lock_claim(conn: Connection, claim_id: UUID) -> ClaimRow | None:
    """The claim, row-locked until the transaction ends; None when there is none."""
    async with conn.cursor(row_factory=class_row(ClaimRow)) as cur:
        await cur.execute(LOCK_CLAIM, {"id": claim_id})
        return await cur.fetchone()


async def latest_version_of_lineage(conn: Connection, lineage_id: UUID) -> tuple[UUID, int]:
    """The id and version number of the newest version of a lineage."""
    cur = await conn.execute(LATEST_VERSION_OF_LINEAGE, {"lineage_id": lineage_id})
    row = await cur.fetchone()
    assert row is not None
    return UUID(str(row[0])), int(row[1])


async def set_claim_status(conn: Connection, claim_id: UUID, status: str) -> None:
    await conn.execute(SET_CLAIM_STATUS, {"id": claim_id, "status": status})


async def nearest_existing_claims(
    conn: Connection,
    vectors: Sequence[Sequence[float]],
    threshold: float,
    *,
    exclude: Sequence[UUID] = (),
) -> list[NearDuplicateRow]:
    """For each vector (1-based position, ascending), its nearest stored claim other
    than `exclude` when at least `threshold`-similar (cosine)."""
    if not vectors:
        return []
    await use_packed_vectors(conn)
    async with conn.cursor(row_factory=class_row(NearDuplicateRow)) as cur:
        await cur.execute(
            NEAREST_EXISTING_CLAIMS,
            {"vectors": packed(vectors), "threshold": threshold, "exclude": list(exclude)},
        )
        return await cur.fetchall()


async def claims_missing_embedding(
    conn: Connection, *, after: tuple[datetime, UUID], limit: int
) -> list[MissingEmbeddingRow]:
    """Claims without an embedding, oldest first, strictly after the keyset `after`."""
    async with conn.cursor(row_factory=class_row(MissingEmbeddingRow)) as cur:
        await cur.execute(
            CLAIMS_MISSING_EMBEDDING,
            {"after_at": after[0], "after_id": after[1], "limit": limit},
        )
        return await cur.fetchall()


async def set_embeddings(
    conn: Connection, ids: Sequence[UUID], embeddings: Sequence[Sequence[float]]
) -> int:
    """Fill in embeddings of claims that have none; the number of claims updated."""
    cur = await conn.execute(
        SET_EMBEDDINGS,
        {"ids": list(ids), "embeddings": [vector_text(v) for v in embeddings]},
    )
    return cur.rowcount
