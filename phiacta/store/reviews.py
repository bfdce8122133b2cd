"""The reviews table: one verdict per reviewer per claim."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.rows import ReviewRow

# ---------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------

REVIEW_COLUMNS = """
    r.id, r.claim_id, r.reviewer_id, r.verdict, r.confidence, r.comment, r.attrs,
    r.created_at, r.updated_at
"""


async def reviews_of_claims(
    conn: Connection,
    claim_ids: Sequence[UUID],
    *,
    limit: int,
    after: tuple[datetime, UUID] | None,
) -> dict[UUID, list[ReviewRow]]:
    """For each claim, up to `limit` reviews in creation order after `after`."""
    where = "r.claim_id = k.id"
    params: dict[str, object] = {"ids": list(claim_ids), "limit": limit}
    if after is not None:
        where += " AND (r.created_at, r.id) > (%(after_at)s, %(after_id)s)"
        params |= {"after_at": after[0], "after_id": after[1]}
    query = f"""
SELECT k.id AS of_claim, page.*
FROM unnest(%(ids)s::uuid[]) AS k(id)
CROSS JOIN LATERAL (
    SELECT {REVIEW_COLUMNS}
    FROM reviews r
    WHERE {where}
    ORDER BY r.created_at, r.id
    LIMIT %(limit)s
) page
"""
    found: dict[UUID, list[ReviewRow]] = {claim_id: [] for claim_id in claim_ids}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        for row in await cur.fetchall():
            of_claim = row.pop("of_claim")
            found[of_claim].append(ReviewRow(**row))
    return found


COUNT_REVIEWS_OF_CLAIMS = """
SELECT k.id, (SELECT count(*) FROM reviews r WHERE r.claim_id = k.id)
FROM unnest(%(ids)s::uuid[]) AS k(id)
"""


async def count_reviews_of_claims(conn: Connection, claim_ids: Sequence[UUID]) -> dict[UUID, int]:
    cur = await conn.execute(COUNT_REVIEWS_OF_CLAIMS, {"ids": list(claim_ids)})
    return {row[0]: int(row[1]) for row in await cur.fetchall()}


# ---------------------------------------------------------------------------------------
# Writes (the write path)
# ---------------------------------------------------------------------------------------

# One review per reviewer and claim: a second one replaces the first in place (same id,
# new verdict, updated_at moved). `xmax <> 0` tells an updated row from an inserted one.
UPSERT_REVIEW = f"""
INSERT INTO reviews AS r (claim_id, reviewer_id, verdict, confidence, comment, attrs)
VALUES (%(claim_id)s, %(reviewer_id)s, %(verdict)s, %(confidence)s, %(comment)s, %(attrs)s)
ON CONFLICT ON CONSTRAINT uq_reviews_claim_reviewer DO UPDATE
SET verdict = EXCLUDED.verdict, confidence = EXCLUDED.confidence,
    comment = EXCLUDED.comment, attrs = EXCLUDED.attrs, updated_at = now()
RETURNING {REVIEW_COLUMNS}, (r.xmax <> 0) AS replaced
"""


async def upsert_review(
    conn: Connection,
    *,
    claim_id: UUID,
    reviewer_id: UUID,
    verdict: str,
    confidence: float,
    comment: str | None,
    attrs: dict[str, Any],
) -> tuple[ReviewRow, bool]:
    """The review as stored, and whether it replaced the reviewer's earlier one."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            UPSERT_REVIEW,
            {
                "claim_id": claim_id,
                "reviewer_id": reviewer_id,
                "verdict": verdict,
                "confidence": confidence,
                "comment": comment,
                "attrs": Jsonb(attrs),
            },
        )
        row = await cur.fetchone()
    assert row is not None
    replaced = bool(row.pop("replaced"))
    return ReviewRow(**row), replaced


LOCK_REVIEW = f"""
SELECT {REVIEW_COLUMNS}
FROM reviews r
WHERE r.id = %(id)s
FOR UPDATE OF r
"""

DELETE_REVIEW = """
DELETE FROM reviews WHERE id = %(id)s
"""


async def lock_review(conn: Connection, review_id: UUID) -> ReviewRow | None:
    """The review, row-locked until the transaction ends; None when there is none."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(LOCK_REVIEW, {"id": review_id})
        row = await cur.fetchone()
    return None if row is None else ReviewRow(**row)


async def delete_review(conn: Connection, review_id: UUID) -> None:
    await conn.execute(DELETE_REVIEW, {"id": review_id})
