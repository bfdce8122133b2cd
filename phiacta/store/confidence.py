"""Truth-confidence: how the reviews of a claim, or of its whole lineage, add up.

Computed from the base tables on every read, never from a cache, so a review shows on
the very next request. The rules (the same as the `claim_confidence` view of migration
0007_lineage, which serves analysts):

- A self-review (by the claim's creator, an agent the creator owns, or the creator's
  owner) is counted in `review_count` and `self_review_count` only.
- SIMPLE weighs every other reviewer 1; TRUST_WEIGHTED weighs reviewer r by
  w_r = max(trust_score_r, 0). With c_r the review's confidence:
  endorsement_weight = sum over endorsements of w_r * c_r, dispute_weight likewise,
  weighted mean endorsement confidence = sum(w_r * c_r) / sum(w_r) over endorsements.
- The epistemic status, in this order: no counted review: unverified; an endorsement
  and a dispute (of positive weight): disputed; formal content and an endorsement:
  formally_verified; mean endorsement confidence above 0.7 and endorsement
  weight (SIMPLE: count) above the disputes': endorsed; otherwise under_review.
- Floats are rounded to 6 significant digits by `round_significant`.

A lineage's confidence counts each reviewer once, by its review of the newest version
it reviewed, judged against that version's creator; formal content is the newest
version's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from psycopg.rows import class_row, dict_row

from phiacta.store import Connection
from phiacta.store.reviews import REVIEW_COLUMNS
from phiacta.store.rows import ReviewRow


@dataclass(frozen=True)
class ConfidenceRow:
    """Both confidence models of one claim (see migration 0007_lineage's
    `claim_confidence`): self-reviews are counted in `review_count` and
    `self_review_count` only; SIMPLE weighs each other reviewer 1, TRUST_WEIGHTED its
    trust score. Floats are rounded to 6 significant digits by the database."""

    claim_id: UUID
    review_count: int
    self_review_count: int
    endorsement_count: int
    dispute_count: int
    mean_endorsement_confidence: float | None
    endorsement_sum: float
    dispute_sum: float
    endorsement_weight: float
    dispute_weight: float
    weighted_mean_endorsement_confidence: float | None
    epistemic_status: str
    weighted_epistemic_status: str


# Over judged reviews `j(id, verdict, confidence, weight, is_self)` grouped per claim
# or lineage, with `formal` the formal content that decides FORMALLY_VERIFIED.
_COUNTED = "NOT j.is_self"
_ENDORSE = f"{_COUNTED} AND j.verdict = 'endorse'"
_DISPUTE = f"{_COUNTED} AND j.verdict = 'dispute'"
_W_ENDORSE = f"coalesce(sum(j.weight * j.confidence) FILTER (WHERE {_ENDORSE}), 0)"
_W_DISPUTE = f"coalesce(sum(j.weight * j.confidence) FILTER (WHERE {_DISPUTE}), 0)"
_W_MEAN = (
    f"sum(j.weight * j.confidence) FILTER (WHERE {_ENDORSE})"
    f" / nullif(sum(j.weight) FILTER (WHERE {_ENDORSE}), 0)"
)
_N_ENDORSE = f"count(j.id) FILTER (WHERE {_ENDORSE})"
_N_DISPUTE = f"count(j.id) FILTER (WHERE {_DISPUTE})"
_FORMAL = "nullif(btrim(max(j.formal)), '') IS NOT NULL"
AGGREGATES = f"""
    count(j.id)::integer AS review_count,
    (count(j.id) FILTER (WHERE j.is_self))::integer AS self_review_count,
    {_N_ENDORSE}::integer AS endorsement_count,
    {_N_DISPUTE}::integer AS dispute_count,
    round_significant(avg(j.confidence) FILTER (WHERE {_ENDORSE}))
        AS mean_endorsement_confidence,
    round_significant(coalesce(sum(j.confidence) FILTER (WHERE {_ENDORSE}), 0))
        AS endorsement_sum,
    round_significant(coalesce(sum(j.confidence) FILTER (WHERE {_DISPUTE}), 0))
        AS dispute_sum,
    round_significant({_W_ENDORSE}) AS endorsement_weight,
    round_significant({_W_DISPUTE}) AS dispute_weight,
    round_significant({_W_MEAN}) AS weighted_mean_endorsement_confidence,
    CASE
        WHEN count(j.id) FILTER (WHERE {_COUNTED}) = 0 THEN 'unverified'
        WHEN {_N_DISPUTE} >= 1 AND {_N_ENDORSE} >= 1 THEN 'disputed'
        WHEN {_FORMAL} AND {_N_ENDORSE} >= 1 THEN 'formally_verified'
        WHEN avg(j.confidence) FILTER (WHERE {_ENDORSE}) > 0.7 AND {_N_ENDORSE} > {_N_DISPUTE}
            THEN 'endorsed'
        ELSE 'under_review'
    END AS epistemic_status,
    CASE
        WHEN count(j.id) FILTER (WHERE {_COUNTED}) = 0 THEN 'unverified'
        WHEN coalesce(sum(j.weight) FILTER (WHERE {_DISPUTE}), 0) > 0
         AND coalesce(sum(j.weight) FILTER (WHERE {_ENDORSE}), 0) > 0 THEN 'disputed'
        WHEN {_FORMAL} AND coalesce(sum(j.weight) FILTER (WHERE {_ENDORSE}), 0) > 0
            THEN 'formally_verified'
        WHEN {_W_MEAN} > 0.7 AND {_W_ENDORSE} > {_W_DISPUTE} THEN 'endorsed'
        ELSE 'under_review'
    END AS weighted_epistemic_status
"""


def _is_self(claim: str) -> str:
    """Whether reviewer `a` (row of review `r`) judges its own claim, the row `claim`
    (creator `creator`); `claim` is a constant alias of the calling statement."""
    return f"""coalesce(r.reviewer_id = {claim}.created_by, false)
           OR coalesce(a.owned_by = {claim}.created_by, false)
           OR coalesce(r.reviewer_id = creator.owned_by, false)"""


_IS_SELF = _is_self("c")


def judged_reviews(claim: str) -> str:
    """The reviews of the claim row `claim` of the calling statement as AGGREGATES reads
    them, `j(id, verdict, confidence, formal, weight, is_self)`; `claim` is a constant
    alias, never client input."""
    return f"""
                SELECT r.id, r.verdict, r.confidence, {claim}.formal_content AS formal,
                       greatest(a.trust_score, 0) AS weight, {_is_self(claim)} AS is_self
                FROM reviews r
                JOIN agents a ON a.id = r.reviewer_id
                LEFT JOIN agents creator ON creator.id = {claim}.created_by
                WHERE r.claim_id = {claim}.id"""


def confidence_of_claim(claim: str) -> str:
    """One row of AGGREGATES for the claim row `claim` of the calling statement (an
    unreviewed claim gives its aggregates over no rows: zero counts, `unverified`)."""
    return f"SELECT {AGGREGATES} FROM ({judged_reviews(claim)}) j"


CONFIDENCE_OF_CLAIMS = f"""
SELECT j.of_id AS claim_id, {AGGREGATES}
FROM (
    SELECT c.id AS of_id, r.id, r.verdict, r.confidence, c.formal_content AS formal,
           greatest(a.trust_score, 0) AS weight, {_IS_SELF} AS is_self
    FROM claims c
    LEFT JOIN agents creator ON creator.id = c.created_by
    JOIN reviews r ON r.claim_id = c.id
    JOIN agents a ON a.id = r.reviewer_id
    WHERE c.id = ANY(%(ids)s)
) j
GROUP BY j.of_id
"""

MAX_LINEAGE_REVIEWS = 1000


def _lineage_judged(lineage: str) -> str:
    """Each reviewer's review of the newest version it reviewed, of the lineages whose
    id satisfies `lineage` (a fixed condition such as `= ANY(%(ids)s)`)."""
    return f"""
    SELECT DISTINCT ON (c.lineage_id, r.reviewer_id)
           c.lineage_id AS of_id, c.version, r.id, r.verdict, r.confidence,
           latest.formal_content AS formal, greatest(a.trust_score, 0) AS weight,
           {_IS_SELF} AS is_self
    FROM claims c
    LEFT JOIN agents creator ON creator.id = c.created_by
    JOIN reviews r ON r.claim_id = c.id
    JOIN agents a ON a.id = r.reviewer_id
    CROSS JOIN LATERAL (
        SELECT l.formal_content FROM claims l
        WHERE l.lineage_id = c.lineage_id ORDER BY l.version DESC LIMIT 1
    ) latest
    WHERE c.lineage_id {lineage}
    ORDER BY c.lineage_id, r.reviewer_id, c.version DESC
    LIMIT {MAX_LINEAGE_REVIEWS}
"""


CONFIDENCE_OF_LINEAGES = f"""
SELECT j.of_id AS claim_id, {AGGREGATES}
FROM ({_lineage_judged("= ANY(%(ids)s)")}) j
GROUP BY j.of_id
"""


def confidence_of_lineage(row: str) -> str:
    """One row of AGGREGATES for the lineage `row.lineage_id` of the calling statement
    (`row` a constant alias); an unreviewed lineage gives its aggregates over no rows."""
    return f"SELECT {AGGREGATES} FROM ({_lineage_judged(f'= {row}.lineage_id')}) j"


LINEAGE_REVIEWS = f"""
SELECT c.lineage_id, c.version, {REVIEW_COLUMNS}
FROM claims c
JOIN reviews r ON r.claim_id = c.id
WHERE c.lineage_id = ANY(%(ids)s)
ORDER BY c.version, r.created_at, r.id
LIMIT {MAX_LINEAGE_REVIEWS}
"""


@dataclass(frozen=True)
class VersionReview:
    """A review of one version of a lineage, with the version it judged."""

    lineage_id: UUID
    version: int
    review: ReviewRow


async def confidence_of_claims(conn: Connection, ids: list[UUID]) -> dict[UUID, ConfidenceRow]:
    """Each reviewed claim's confidence; an unreviewed claim has no entry."""
    async with conn.cursor(row_factory=class_row(ConfidenceRow)) as cur:
        await cur.execute(CONFIDENCE_OF_CLAIMS, {"ids": ids})
        return {row.claim_id: row for row in await cur.fetchall()}


async def confidence_of_lineages(
    conn: Connection, lineage_ids: list[UUID]
) -> dict[UUID, ConfidenceRow]:
    """Each reviewed lineage's confidence across its versions, keyed by lineage id
    (`ConfidenceRow.claim_id` holds the lineage id)."""
    async with conn.cursor(row_factory=class_row(ConfidenceRow)) as cur:
        await cur.execute(CONFIDENCE_OF_LINEAGES, {"ids": lineage_ids})
        return {row.claim_id: row for row in await cur.fetchall()}


async def reviews_of_lineages(
    conn: Connection, lineage_ids: Sequence[UUID]
) -> dict[UUID, list[VersionReview]]:
    """Every review of every version of each lineage, oldest version first (at most
    MAX_LINEAGE_REVIEWS in all)."""
    found: dict[UUID, list[VersionReview]] = {lineage: [] for lineage in lineage_ids}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(LINEAGE_REVIEWS, {"ids": list(lineage_ids)})
        for row in await cur.fetchall():
            lineage_id = row.pop("lineage_id")
            version = row.pop("version")
            found[lineage_id].append(VersionReview(lineage_id, version, ReviewRow(**row)))
    return found


def claim_confidence_value(column: str, claim: str = "c") -> str:
    """A correlated sub-query: `column` of AGGREGATES (e.g. `weighted_epistemic_status`)
    for the claim row `claim` of the calling statement; an unreviewed claim gives its
    aggregates over no rows (`unverified`, NULL mean). `column` and `claim` are
    constants of the caller, never client input."""
    if column not in _AGGREGATE_COLUMNS:
        raise ValueError(f"{column!r} is not a confidence column")
    return f"""(
        SELECT agg.{column}
        FROM ({confidence_of_claim(claim)}) agg
    )"""


_AGGREGATE_COLUMNS = frozenset(
    {"weighted_epistemic_status", "epistemic_status", "weighted_mean_endorsement_confidence"}
)
