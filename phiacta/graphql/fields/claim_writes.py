"""createClaim, reviseClaim and setClaimStatus."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from phiacta.auth.manifest import enforce_manifest
from phiacta.auth.viewer import Scope
from phiacta.errors import FieldProblem
from phiacta.graphql.context import Info
from phiacta.graphql.enums import ClaimStatus, ClaimType
from phiacta.graphql.ids import uuid_of
from phiacta.graphql.permissions import CanWriteClaims, require_scope
from phiacta.graphql.types import Claim
from phiacta.ingest import claims as claim_writes
from phiacta.ingest.claims import ClaimDraft, WriteContext


@strawberry.input(description="A new claim: version 1 of a new lineage.")
class CreateClaimInput:
    content: str
    claim_type: ClaimType = ClaimType.ASSERTION
    formal_content: str | None = None
    namespace: str | None = strawberry.field(default=None, description="Dotted path.")
    status: ClaimStatus = ClaimStatus.ACTIVE
    source_id: strawberry.ID | None = strawberry.field(
        default=None, description="Record provenance from this source."
    )
    confidence: float | None = strawberry.field(
        default=None, description="Extraction confidence 0..1 of that provenance."
    )
    attrs: JSON | None = None


@strawberry.input(description="What changes in the new version; omitted fields are kept.")
class ReviseClaimInput:
    content: str | None = None
    claim_type: ClaimType | None = None
    formal_content: str | None = None
    namespace: str | None = None
    status: ClaimStatus | None = None
    attrs: JSON | None = None


def _attrs(value: Any) -> tuple[dict[str, Any] | None, list[FieldProblem]]:
    if value is None or isinstance(value, dict):
        return value, []
    return None, [FieldProblem("input.attrs", "must be a JSON object")]


def _context(info: Info) -> WriteContext:
    viewer = require_scope(info.context, Scope.CLAIMS_WRITE)
    services = info.context.services
    return WriteContext(
        pool=services.pool,
        embedder=services.embedder,
        settings=services.settings,
        viewer=viewer,
        request_id=info.context.request_id,
    )


def _written(info: Info, claim: Claim) -> Claim:
    info.context.services.view_refresher.poke()
    return claim


@strawberry.type
class ClaimWriteMutations:
    @strawberry.mutation(description="Create one claim.", permission_classes=[CanWriteClaims])
    async def create_claim(self, info: Info, input: CreateClaimInput) -> Claim:
        ctx = _context(info)
        enforce_manifest(ctx.viewer, claim_types=[("input.claimType", input.claim_type.value)])
        attrs, problems = _attrs(input.attrs)
        draft = ClaimDraft(
            content=input.content,
            claim_type=input.claim_type.value,
            formal_content=input.formal_content,
            namespace=input.namespace,
            status=input.status.value,
            attrs=attrs,
            source_id=None if input.source_id is None else str(input.source_id),
            confidence=input.confidence,
            extra_problems=problems,
        )
        return _written(info, Claim.from_row(await claim_writes.create_claim(ctx, draft)))

    @strawberry.mutation(
        description="Make a new version of the latest version of a claim; the old one "
        "becomes deprecated and is `supersedes`-linked from the new one.",
        permission_classes=[CanWriteClaims],
    )
    async def revise_claim(self, info: Info, id: strawberry.ID, input: ReviseClaimInput) -> Claim:
        ctx = _context(info)
        claim_id = uuid_of(id, "id")
        if input.claim_type is not None:
            enforce_manifest(ctx.viewer, claim_types=[("input.claimType", input.claim_type.value)])
        attrs, problems = _attrs(input.attrs)
        draft = ClaimDraft(
            content=input.content,
            claim_type=None if input.claim_type is None else input.claim_type.value,
            formal_content=input.formal_content,
            namespace=input.namespace,
            status=None if input.status is None else input.status.value,
            attrs=attrs,
            extra_problems=problems,
        )
        row = await claim_writes.revise_claim(ctx, claim_id, draft)
        return _written(info, Claim.from_row(row))

    @strawberry.mutation(
        description="Deprecate, retract (a reason is required) or publish a draft.",
        permission_classes=[CanWriteClaims],
    )
    async def set_claim_status(
        self, info: Info, id: strawberry.ID, status: ClaimStatus, reason: str | None = None
    ) -> Claim:
        ctx = _context(info)
        claim_id = uuid_of(id, "id")
        row = await claim_writes.set_claim_status(ctx, claim_id, status.value, reason)
        return _written(info, Claim.from_row(row))
