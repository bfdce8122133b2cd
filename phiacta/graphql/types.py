"""GraphQL object types. Each is built from a store row by `from_row`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from phiacta.graphql.context import Info
from phiacta.graphql.enums import (
    AgentType,
    ArtifactType,
    BundleStatus,
    ClaimStatus,
    ClaimType,
    EdgeCategory,
    PendingReferenceStatus,
    SourceType,
    Verdict,
)
from phiacta.store import namespaces as namespace_store
from phiacta.store.claims import ClaimRow
from phiacta.store.edge_types import EdgeTypeRow
from phiacta.store.namespaces import NamespaceRow
from phiacta.store.rows import (
    AgentRow,
    ArtifactRow,
    BundleRow,
    EdgeRow,
    EventRow,
    PendingReferenceRow,
    ProvenanceRow,
    ReviewRow,
    SourceRow,
)


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


@strawberry.type(description="A person, model, organization, pipeline or extension.")
class Agent:
    id: UUID
    agent_type: AgentType
    name: str
    external_id: str | None = strawberry.field(description="ORCID, model id, or similar.")
    trust_score: float
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: AgentRow) -> Agent:
        return cls(
            id=row.id,
            agent_type=AgentType(row.agent_type),
            name=row.name,
            external_id=row.external_id,
            trust_score=row.trust_score,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )


@strawberry.type(description="Where claims come from: a paper, dataset, recording, ...")
class Source:
    id: UUID
    source_type: SourceType
    title: str | None
    external_ref: str | None = strawberry.field(description="DOI, URL or arXiv id.")
    content_hash: str | None = strawberry.field(description="SHA-256 of the content, hex.")
    submitted_by_id: UUID | None
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: SourceRow) -> Source:
        return cls(
            id=row.id,
            source_type=SourceType(row.source_type),
            title=row.title,
            external_ref=row.external_ref,
            content_hash=row.content_hash,
            submitted_by_id=row.submitted_by,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )


@strawberry.type(description="A typed, directed relation from one claim to another.")
class Edge:
    id: UUID
    source_id: UUID
    target_id: UUID
    edge_type: str
    strength: float
    created_by_id: UUID | None
    source_provenance_id: UUID | None
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: EdgeRow) -> Edge:
        return cls(
            id=row.id,
            source_id=row.source_id,
            target_id=row.target_id,
            edge_type=row.edge_type,
            strength=row.strength,
            created_by_id=row.created_by,
            source_provenance_id=row.source_provenance,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )


@strawberry.type(description="Where a claim was found, by whom, and how confidently.")
class Provenance:
    id: UUID
    claim_id: UUID
    source_id: UUID
    extracted_by_id: UUID | None
    extraction_method: str | None
    location_in_source: str | None
    confidence: float | None = strawberry.field(description="Extraction confidence, 0..1.")
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: ProvenanceRow) -> Provenance:
        return cls(
            id=row.id,
            claim_id=row.claim_id,
            source_id=row.source_id,
            extracted_by_id=row.extracted_by,
            extraction_method=row.extraction_method,
            location_in_source=row.location_in_source,
            confidence=row.confidence,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )


@strawberry.type(description="One reviewer's verdict on one claim (a second one replaces it).")
class Review:
    id: UUID
    claim_id: UUID
    reviewer_id: UUID
    verdict: Verdict
    confidence: float
    comment: str | None
    attrs: JSON
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: ReviewRow) -> Review:
        return cls(
            id=row.id,
            claim_id=row.claim_id,
            reviewer_id=row.reviewer_id,
            verdict=Verdict(row.verdict),
            confidence=row.confidence,
            comment=row.comment,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="One atomic submission of claims, edges and artifacts.")
class Bundle:
    id: UUID
    idempotency_key: str
    submitted_by_id: UUID
    extension_id: str | None
    contributor_id: UUID | None
    source_id: UUID | None
    status: BundleStatus
    claim_count: int
    edge_count: int
    artifact_count: int
    attrs: JSON
    submitted_at: datetime

    @classmethod
    def from_row(cls, row: BundleRow) -> Bundle:
        return cls(
            id=row.id,
            idempotency_key=row.idempotency_key,
            submitted_by_id=row.submitted_by,
            extension_id=row.extension_id,
            contributor_id=row.contributor_id,
            source_id=row.source_id,
            status=BundleStatus(row.status),
            claim_count=row.claim_count,
            edge_count=row.edge_count,
            artifact_count=row.artifact_count,
            attrs=JSON(row.attrs),
            submitted_at=row.submitted_at,
        )


@strawberry.type(description="A figure, table, recording or code attached to claims.")
class Artifact:
    id: UUID
    bundle_id: UUID | None
    artifact_type: ArtifactType
    description: str | None
    storage_ref: str | None
    content_inline: str | None
    structured_data: JSON | None
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: ArtifactRow) -> Artifact:
        return cls(
            id=row.id,
            bundle_id=row.bundle_id,
            artifact_type=ArtifactType(row.artifact_type),
            description=row.description,
            storage_ref=row.storage_ref,
            content_inline=row.content_inline,
            structured_data=None if row.structured_data is None else JSON(row.structured_data),
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )


@strawberry.type(description="An edge to an external reference not yet in the graph.")
class PendingReference:
    id: UUID
    source_claim_id: UUID
    external_ref: str
    edge_type: str
    strength: float
    bundle_id: UUID | None
    status: PendingReferenceStatus
    resolved_to_id: UUID | None
    resolved_at: datetime | None
    attrs: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: PendingReferenceRow) -> PendingReference:
        return cls(
            id=row.id,
            source_claim_id=row.source_claim_id,
            external_ref=row.external_ref,
            edge_type=row.edge_type,
            strength=row.strength,
            bundle_id=row.bundle_id,
            status=PendingReferenceStatus(row.status),
            resolved_to_id=row.resolved_to,
            resolved_at=row.resolved_at,
            attrs=JSON(row.attrs),
            created_at=row.created_at,
        )


@strawberry.type(description="One entry of the outbox: a committed change.")
class Event:
    id: str = strawberry.field(description="Monotonic event id (a 64-bit integer as a string).")
    type: str
    payload: JSON
    created_at: datetime

    @classmethod
    def from_row(cls, row: EventRow) -> Event:
        return cls(
            id=str(row.id), type=row.type, payload=JSON(row.payload), created_at=row.created_at
        )
