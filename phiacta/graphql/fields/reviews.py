"""createReview: one verdict per reviewer and claim; a second one replaces the first."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from phiacta.auth.viewer import Scope
from phiacta.errors import FieldProblem, Forbidden, NotFound, ValidationFailed
from phiacta.events import EventType
from phiacta.graphql.context import Info
from phiacta.graphql.enums import Verdict
from phiacta.graphql.ids import uuid_of
from phiacta.graphql.permissions import CanWriteReviews, require_scope
from phiacta.graphql.types import Review
from phiacta.ingest.reviews import write_review
from phiacta.ingest.validate import unit_interval_problems
from phiacta.observability.audit import audit_write
from phiacta.store import events as event_store
from phiacta.store import reviews as review_store

MAX_COMMENT_LENGTH = 10_000


@strawberry.input
class CreateReviewInput:
    claim_id: strawberry.ID
    verdict: Verdict
    confidence: float = 1.0
    comment: str | None = None
    attrs: JSON | None = None


@strawberry.type
class CreateReviewPayload:
    review: Review
    replaced: bool = strawberry.field(
        description="True when it replaced this reviewer's earlier review of the claim."
    )


def _problems(input: CreateReviewInput) -> list[FieldProblem]:
    problems = unit_interval_problems(input.confidence, "input.confidence")
    if input.comment is not None and len(input.comment) > MAX_COMMENT_LENGTH:
        problems.append(FieldProblem("input.comment", f"at most {MAX_COMMENT_LENGTH} characters"))
    if input.attrs is not None and not isinstance(input.attrs, dict):
        problems.append(FieldProblem("input.attrs", "must be a JSON object"))
    return problems


@strawberry.type
class ReviewMutations:
    @strawberry.mutation(
        description="Review a claim as the calling agent; replaces its earlier review.",
        permission_classes=[CanWriteReviews],
    )
    async def create_review(self, info: Info, input: CreateReviewInput) -> CreateReviewPayload:
        viewer = require_scope(info.context, Scope.REVIEWS_WRITE)
        claim_id = uuid_of(input.claim_id, "input.claimId")
        problems = _problems(input)
        if problems:
            raise ValidationFailed(problems)
        async with info.context.connection() as conn:
            row, replaced = await write_review(
                conn,
                claim_id=claim_id,
                reviewer_id=viewer.agent_id,
                verdict=input.verdict.value,
                confidence=input.confidence,
                comment=input.comment,
                attrs=dict(input.attrs) if isinstance(input.attrs, dict) else {},
                visibility=info.context.visibility,
            )
        audit_write(
            operation="createReview",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[row.id, claim_id],
            verdict=row.verdict,
            replaced=replaced,
        )
        info.context.services.view_refresher.poke()
        return CreateReviewPayload(review=Review.from_row(row), replaced=replaced)

    @strawberry.mutation(
        description="Withdraw a review: only its author (or an admin) may. The review is "
        "removed and no longer counts; a `review_withdrawn` event records it.",
        permission_classes=[CanWriteReviews],
    )
    async def withdraw_review(self, info: Info, id: strawberry.ID) -> Review:
        viewer = require_scope(info.context, Scope.REVIEWS_WRITE)
        review_id = uuid_of(id, "id")
        async with info.context.connection() as conn, conn.transaction():
            row = await review_store.lock_review(conn, review_id)
            if row is None:
                raise NotFound(f"no review has id {review_id}")
            if not viewer.may_change(row.reviewer_id):
                raise Forbidden("only the review's author or an admin may withdraw it")
            await review_store.delete_review(conn, review_id)
            await event_store.append_event(
                conn,
                EventType.REVIEW_WITHDRAWN,
                {
                    "review_id": str(row.id),
                    "claim_id": str(row.claim_id),
                    "reviewer_id": str(row.reviewer_id),
                    "verdict": row.verdict,
                    "withdrawn_by": str(viewer.agent_id),
                },
            )
        audit_write(
            operation="withdrawReview",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[row.id, row.claim_id],
        )
        info.context.services.view_refresher.poke()
        return Review.from_row(row)
