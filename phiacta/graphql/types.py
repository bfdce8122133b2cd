"""GraphQL object types. Each is built from a store row by `from_row`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from phiacta.graphql.context import Info
from phiacta.graphql.enums import ClaimStatus, ClaimType, EdgeCategory
from phiacta.store import namespaces as namespace_store
from phiacta.store.claims import ClaimRow
from phiacta.store.edge_types import EdgeTypeRow
from phiacta.store.namespaces import NamespaceRow


@strawberry.type(description="A kind of typed relation between two claims.")
class EdgeType:
    name: str
    description: str | None
    inverse_name: str | None = strawberry.field(
        description="The name of the relation read from target to source."
    )
    is_transitive: bool
    is_symmetric: bool
    is_anti_reflexive: bool
    category: EdgeCategory
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: EdgeTypeRow) -> EdgeType:
        return cls(
            name=row.name,
            description=row.description,
            inverse_name=row.inverse_name,
            is_transitive=row.is_transitive,
            is_symmetric=row.is_symmetric,
            is_anti_reflexive=row.is_anti_reflexive,
            category=EdgeCategory(row.category),
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )


@strawberry.type(description="A node of the namespace hierarchy, addressed by dotted path.")
class Namespace:
    id: UUID
    name: str
    path: str = strawberry.field(description="The dotted path, e.g. `biology.immunology`.")
    parent_id: UUID | None
    description: str | None
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: NamespaceRow) -> Namespace:
        return cls(
            id=row.id,
            name=row.name,
            path=row.path,
            parent_id=row.parent_id,
            description=row.description,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )

    @strawberry.field(description="The namespace this one sits under, if any.")
    async def parent(self, info: Info) -> Namespace | None:
        if self.parent_id is None:
            return None
        async with info.context.connection() as conn:
            rows = await namespace_store.namespaces_by_id(conn, [self.parent_id])
        row = rows.get(self.parent_id)
        return Namespace.from_row(row) if row else None


@strawberry.type(description="One immutable version of an atomic scientific statement.")
class Claim:
    id: UUID
    lineage_id: UUID = strawberry.field(description="Shared by every version of this claim.")
    version: int
    is_latest: bool = strawberry.field(description="Whether no newer version exists.")
    claim_type: ClaimType
    content: str
    formal_content: str | None
    status: ClaimStatus
    namespace_id: UUID | None
    created_by_id: UUID | None
    supersedes_id: UUID | None
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: ClaimRow) -> Claim:
        return cls(
            id=row.id,
            lineage_id=row.lineage_id,
            version=row.version,
            is_latest=row.is_latest,
            claim_type=ClaimType(row.claim_type),
            content=row.content,
            formal_content=row.formal_content,
            status=ClaimStatus(row.status),
            namespace_id=row.namespace_id,
            created_by_id=row.created_by,
            supersedes_id=row.supersedes,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )

    @strawberry.field(description="The namespace the claim belongs to.")
    async def namespace(self, info: Info) -> Namespace | None:
        if self.namespace_id is None:
            return None
        async with info.context.connection() as conn:
            rows = await namespace_store.namespaces_by_id(conn, [self.namespace_id])
        row = rows.get(self.namespace_id)
        return Namespace.from_row(row) if row else None
