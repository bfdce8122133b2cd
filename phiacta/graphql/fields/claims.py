"""Looking up claims."""

from __future__ import annotations

from uuid import UUID

import strawberry

from phiacta.graphql.context import Info
from phiacta.graphql.types import Claim
from phiacta.store import claims as claim_store


@strawberry.type
class ClaimQueries:
    @strawberry.field(description="One claim version by id, or null when there is none.")
    async def claim(self, info: Info, id: UUID) -> Claim | None:
        async with info.context.connection() as conn:
            row = await claim_store.claim_by_id(conn, id)
        return Claim.from_row(row) if row else None
