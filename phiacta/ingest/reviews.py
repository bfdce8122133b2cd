"""Writing a review: the row (replacing the reviewer's earlier one) and its event."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from phiacta.errors import NotFound
from phiacta.events import EventType, private_to
from phiacta.store import Connection
from phiacta.store import claims as claim_store
from phiacta.store import events as event_store
from phiacta.store import reviews as review_store
from phiacta.store.rows import ReviewRow
from phiacta.store.visibility import Visibility


async def write_review(
    conn: Connection,
    *,
    claim_id: UUID,
    reviewer_id: UUID,
    verdict: str,
    confidence: float,
    comment: str | None,
    attrs: dict[str, Any],
    visibility: Visibility,
) -> tuple[ReviewRow, bool]:
    """In one transaction: the review and its `review_created` event. Returns the row
    and whether it replaced this reviewer's earlier review; NOT_FOUND for a claim the
    reviewer cannot see (none, or someone else's draft). An event about a draft's
    review goes only to the draft's creator."""
    async with conn.transaction():
        claim = await claim_store.claim_by_id(conn, claim_id, visibility)
        if claim is None:
            raise NotFound(f"no claim has id {claim_id}")
        row, replaced = await review_store.upsert_review(
            conn,
            claim_id=claim_id,
            reviewer_id=reviewer_id,
            verdict=verdict,
            confidence=confidence,
            comment=comment,
            attrs=attrs,
        )
        await event_store.append_event(
            conn,
            EventType.REVIEW_CREATED,
            {
                "review_id": str(row.id),
                "claim_id": str(row.claim_id),
                "reviewer_id": str(row.reviewer_id),
                "verdict": row.verdict,
                "confidence": row.confidence,
                "replaced": replaced,
                **private_to(claim.status, claim.created_by),
            },
        )
    return row, replaced
