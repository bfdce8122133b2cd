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
from phiacta.store.confidence import claim_confidence_value
from phiacta.store.risk import at_risk_condition
from phiacta.store.vectors import packed, use_packed_vectors
from phiacta.store.visibility import EVERYTHING, PUBLIC, Visibility, claim_visible


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
  AND {claim_visible("c")}
"""


async def claims_by_id(
    conn: Connection, ids: list[UUID], visibility: Visibility
) -> dict[UUID, ClaimRow]:
    """The claims with these ids that `visibility` may see."""
    async with conn.cursor(row_factory=class_row(ClaimRow)) as cur:
        await cur.execute(CLAIMS_BY_ID, {"ids": ids} | visibility.params())
        return {row.id: row for row in await cur.fetchall()}


async def claim_by_id(
    conn: Connection, claim_id: UUID, visibility: Visibility = EVERYTHING
) -> ClaimRow | None:
    """One claim; by default as the server's write paths see it (drafts included)."""
    return (await claims_by_id(conn, [claim_id], visibility)).get(claim_id)


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
    # Who is asking: drafts of others are never listed, searched or counted.
    visibility: Visibility = PUBLIC
    # Only claims standing on a retracted claim (True) or only others (False), within
    # `risk_depth` dependency steps (see store.risk).
    at_risk: bool | None = None
    risk_depth: int = 10
    # Trust-weighted epistemic statuses, and a least weighted mean endorsement confidence
    # (see store.confidence).
    epistemic_statuses: list[str] | None = None
    min_confidence: float | None = None
    # Boolean combinations of the conditions above. Nested filters contribute only their
    # own conditions: visibility, latest versions and retracted ones are decided once,
    # by the top-level filter.
    any_of: tuple[ClaimFilterSpec, ...] | None = None
    none_of: ClaimFilterSpec | None = None


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
    """The WHERE conditions (on alias `c`) and parameters of a filter: visibility, the
    top-level scope (latest versions, retracted ones), then the filter's own conditions.

    Only fixed SQL fragments are joined; every value travels as a parameter.
    """
    conditions: list[str] = [claim_visible("c")]
    params: dict[str, Any] = spec.visibility.params()
    if spec.statuses is None and not spec.include_retracted:
        conditions.append("c.status <> 'retracted'")
    if spec.latest_only:
        conditions.append(IS_LATEST)
    own, own_params = _conditions(spec, "f")
    return "\n  AND ".join(conditions + own), params | own_params


def _conditions(spec: ClaimFilterSpec, prefix: str) -> tuple[list[str], dict[str, Any]]:
    """The filter's own conditions, each parameter named under `prefix` (a constant path
    such as `f_or0_not`, so nested filters never share a name)."""
    conditions: list[str] = []
    params: dict[str, Any] = {}

    def add(condition: str, **values: Any) -> None:
        # `{p}` in a condition is its parameters' prefix.
        conditions.append(condition.replace("{p}", prefix))
        params.update({f"{prefix}_{name}": value for name, value in values.items()})

    if spec.namespace_ids is not None:
        add("c.namespace_id = ANY(%({p}_namespace_ids)s)", namespace_ids=spec.namespace_ids)
    if spec.claim_types is not None:
        add("c.claim_type = ANY(%({p}_claim_types)s)", claim_types=spec.claim_types)
    if spec.statuses is not None:
        add("c.status = ANY(%({p}_statuses)s)", statuses=spec.statuses)
    if spec.created_by is not None:
        add("c.created_by = %({p}_created_by)s", created_by=spec.created_by)
    if spec.source_id is not None:
        add(
            "EXISTS (SELECT 1 FROM provenance p"
            " WHERE p.claim_id = c.id AND p.source_id = %({p}_source_id)s)",
            source_id=spec.source_id,
        )
    if spec.attrs is not None:
        add("c.attrs @> %({p}_attrs)s", attrs=Jsonb(spec.attrs))
    if spec.created_after is not None:
        add("c.created_at >= %({p}_created_after)s", created_after=spec.created_after)
    if spec.created_before is not None:
        add("c.created_at < %({p}_created_before)s", created_before=spec.created_before)
    if spec.at_risk is not None:
        risky = at_risk_condition(spec.risk_depth)
        add(risky if spec.at_risk else f"NOT {risky}")
    if spec.epistemic_statuses is not None:
        status = claim_confidence_value("weighted_epistemic_status")
        add(f"{status} = ANY(%({{p}}_epistemic)s)", epistemic=spec.epistemic_statuses)
    if spec.min_confidence is not None:
        mean = claim_confidence_value("weighted_mean_endorsement_confidence")
        add(f"{mean} >= %({{p}}_min_confidence)s", min_confidence=spec.min_confidence)
    if spec.any_of is not None:
        branches = []
        for i, branch in enumerate(spec.any_of):
            branch_conditions, branch_params = _conditions(branch, f"{prefix}_or{i}")
            branches.append("(" + " AND ".join(branch_conditions or ["TRUE"]) + ")")
            params.update(branch_params)
        conditions.append("(" + " OR ".join(branches or ["FALSE"]) + ")")
    if spec.none_of is not None:
        negated, negated_params = _conditions(spec.none_of, f"{prefix}_not")
        # coalesce: a condition that is NULL for a row (no creator) is false, so its
        # negation holds; `not` is the complement, never three-valued.
        conditions.append("NOT coalesce((" + " AND ".join(negated or ["TRUE"]) + "), false)")
        params.update(negated_params)
    return conditions, params


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
      AND {claim_visible("c")}
    ORDER BY c.version
    LIMIT {MAX_VERSIONS}
) v
"""


async def versions_of_lineages(
    conn: Connection, lineage_ids: list[UUID], visibility: Visibility
) -> dict[UUID, list[ClaimRow]]:
    """Every visible version of each lineage, oldest first (at most MAX_VERSIONS each)."""
    found: dict[UUID, list[ClaimRow]] = {lineage: [] for lineage in lineage_ids}
    async with conn.cursor(row_factory=class_row(ClaimRow)) as cur:
        await cur.execute(VERSIONS_OF_LINEAGES, {"lineage_ids": lineage_ids} | visibility.params())
        for row in await cur.fetchall():
            found[row.lineage_id].append(row)
    return found


MAX_SIMILAR = 50


def similar_to_claim(claim: str, embedding: str = "") -> str:
    """The claims similar to the claim row `claim` of the calling statement (a constant
    alias), each with its `similarity` and `distance` (order by it, nearest first): other
    lineages only (a claim's own versions are not "similar claims"), retracted left out,
    none for a claim without an embedding. Ordered by `distance` and limited, the ANN
    index answers it once per claim. `embedding` is the claim's embedding as an SQL
    expression, for a row that does not carry it (by default `claim.embedding`)."""
    vector = embedding or f"{claim}.embedding"
    return f"""
    SELECT {CLAIM_COLUMNS}, 1 - (c.embedding <=> {vector}) AS similarity,
           c.embedding <=> {vector} AS distance
    FROM claims c
    WHERE c.embedding IS NOT NULL
      AND {vector} IS NOT NULL
      AND c.lineage_id <> {claim}.lineage_id
      AND c.status <> 'retracted'
      AND {claim_visible("c")}"""


SIMILAR_TO_CLAIMS = f"""
SELECT src.id AS of_id, s.*
FROM claims src
CROSS JOIN LATERAL (
    {similar_to_claim("src")}
    ORDER BY distance
    LIMIT %(limit)s
) s
WHERE src.id = ANY(%(ids)s) AND src.embedding IS NOT NULL
"""


async def similar_to_claims(
    conn: Connection, ids: list[UUID], limit: int, visibility: Visibility
) -> dict[UUID, list[SimilarClaimRow]]:
    found: dict[UUID, list[SimilarClaimRow]] = {claim_id: [] for claim_id in ids}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(SIMILAR_TO_CLAIMS, {"ids": ids, "limit": limit} | visibility.params())
        for row in await cur.fetchall():
            of_id = row.pop("of_id")
            similarity = float(row.pop("similarity"))
            del row["distance"]
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


MAX_FACET_CLAIMS = 20_000


@dataclass(frozen=True)
class FacetRow:
    facet: str
    value: str | None
    count: int


def _facet_sql(where: str) -> str:
    status = claim_confidence_value("weighted_epistemic_status")
    return f"""
WITH matched AS MATERIALIZED (
    SELECT c.id, c.namespace_id, c.claim_type, c.status, c.created_by, c.formal_content
    FROM claims c
    WHERE {where}
    LIMIT %(limit)s + 1
),
counted AS MATERIALIZED (SELECT * FROM matched LIMIT %(limit)s)
SELECT 'matched' AS facet, NULL AS value, count(*)::integer AS count FROM matched
UNION ALL
SELECT 'namespace', c.namespace_id::text, count(*)::integer FROM counted c GROUP BY 2
UNION ALL
SELECT 'claim_type', c.claim_type, count(*)::integer FROM counted c GROUP BY 2
UNION ALL
SELECT 'status', c.status, count(*)::integer FROM counted c GROUP BY 2
UNION ALL
SELECT 'epistemic_status', s.value, count(*)::integer
FROM counted c CROSS JOIN LATERAL (SELECT {status} AS value) s
GROUP BY 2
"""


async def claim_facets(conn: Connection, spec: ClaimFilterSpec, *, limit: int) -> list[FacetRow]:
    """Counts of the first `limit` claims matching `spec` (in no particular order) by
    namespace id, claim type, status and trust-weighted epistemic status; `matched` is
    how many matched, up to `limit` + 1 (more than `limit`: the counts are partial).
    At most MAX_FACET_CLAIMS claims are counted."""
    where, params = claim_filter_sql(spec)
    async with conn.cursor(row_factory=class_row(FacetRow)) as cur:
        await cur.execute(_facet_sql(where), params | {"limit": min(limit, MAX_FACET_CLAIMS)})
        return await cur.fetchall()
