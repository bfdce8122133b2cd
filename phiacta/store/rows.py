"""Typed rows of every table, shared by the store modules that read and write them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class AgentRow:
    id: UUID
    agent_type: str
    name: str
    external_id: str | None
    trust_score: float
    attrs: dict[str, Any]
    created_at: datetime
    owned_by: UUID | None


@dataclass(frozen=True)
class SourceRow:
    id: UUID
    source_type: str
    title: str | None
    external_ref: str | None
    content_hash: str | None
    submitted_by: UUID | None
    attrs: dict[str, Any]
    created_at: datetime
    identifiers: list[str]


@dataclass(frozen=True)
class EdgeRow:
    id: UUID
    source_id: UUID
    target_id: UUID
    edge_type: str
    strength: float
    created_by: UUID | None
    source_provenance: UUID | None
    attrs: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class ProvenanceRow:
    id: UUID
    claim_id: UUID
    source_id: UUID
    extracted_by: UUID | None
    extraction_method: str | None
    location_in_source: str | None
    confidence: float | None
    attrs: dict[str, Any]
    created_at: datetime
    section_index: int | None
    paragraph_index: int | None
    sentence_index: int | None


@dataclass(frozen=True)
class ReviewRow:
    id: UUID
    claim_id: UUID
    reviewer_id: UUID
    verdict: str
    confidence: float
    comment: str | None
    attrs: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BundleRow:
    id: UUID
    idempotency_key: str
    submitted_by: UUID
    extension_id: str | None
    contributor_id: UUID | None
    source_id: UUID | None
    status: str
    claim_count: int
    edge_count: int
    artifact_count: int
    attrs: dict[str, Any]
    submitted_at: datetime


@dataclass(frozen=True)
class ArtifactRow:
    id: UUID
    bundle_id: UUID | None
    artifact_type: str
    description: str | None
    storage_ref: str | None
    content_inline: str | None
    structured_data: Any
    attrs: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class PendingReferenceRow:
    id: UUID
    source_claim_id: UUID
    external_ref: str
    edge_type: str
    strength: float
    created_by: UUID | None
    bundle_id: UUID | None
    status: str
    resolved_to: UUID | None
    resolved_at: datetime | None
    attrs: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class EventRow:
    id: int
    type: str
    payload: dict[str, Any]
    created_at: datetime
