"""Reading the edge-type vocabulary."""

from __future__ import annotations

import strawberry

from phiacta.graphql.context import Info
from phiacta.graphql.types import EdgeType
from phiacta.store import edge_types as edge_type_store


@strawberry.type
class EdgeTypeQueries:
    @strawberry.field(description="Every edge type, seeded and custom, by category and name.")
    async def edge_types(self, info: Info) -> list[EdgeType]:
        async with info.context.connection() as conn:
            rows = await edge_type_store.all_edge_types(conn)
        return [EdgeType.from_row(row) for row in rows]
