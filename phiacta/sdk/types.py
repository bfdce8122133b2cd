"""Typed results: frozen dataclasses built from the server's GraphQL responses.

Field names are the GraphQL ones in snake_case; enum values stay as the server spells
them (`"ASSERTION"`, `"ENDORSE"`); ids are `uuid.UUID`, instants `datetime`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

Json = Mapping[str, Any]
T = TypeVar("T")


def _uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(str(value))


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


def _instant(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None

    @classmethod
    def from_json(cls, data: Json) -> PageInfo:
        return cls(
            has_next_page=bool(data["hasNextPage"]),
            has_previous_page=bool(data["hasPreviousPage"]),
            start_cursor=data.get("startCursor"),
            end_cursor=data.get("endCursor"),
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, where it sits, and the whole list's size."""

    items: list[T]
    page_info: PageInfo
    total_count: int


@dataclass(frozen=True)
class Confidence:
    """Truth-confidence of a claim, computed from its reviews."""

    review_count: int
    endorsement_count: int
    dispute_count: int
    mean_endorsement_confidence: float | None
    epistemic_status: str

    @classmethod
    def from_json(cls, data: Json) -> Confidence:
        return cls(
            review_count=int(data["reviewCount"]),
            endorsement_count=int(data["endorsementCount"]),
            dispute_count=int(data["disputeCount"]),
            mean_endorsement_confidence=_float_or_none(data.get("meanEndorsementConfidence")),
            epistemic_status=str(data["epistemicStatus"]),
        )


@dataclass(frozen=True)
class Claim:
    """One immutable version of a claim."""

    id: uuid.UUID
    lineage_id: uuid.UUID
    version: int
    is_latest: bool
    claim_type: str
    content: str
    formal_content: str | None
    status: str
    namespace_id: uuid.UUID | None
    namespace: str | None  # the dotted path
    created_by_id: uuid.UUID | None
    supersedes_id: uuid.UUID | None
    attrs: dict[str, Any]
    created_at: datetime
    confidence: Confidence

    @classmethod
    def from_json(cls, data: Json) -> Claim:
        namespace = data.get("namespace")
        return cls(
            id=_uuid(data["id"]),
            lineage_id=_uuid(data["lineageId"]),
            version=int(data["version"]),
            is_latest=bool(data["isLatest"]),
            claim_type=str(data["claimType"]),
            content=str(data["content"]),
            formal_content=data.get("formalContent"),
            status=str(data["status"]),
            namespace_id=_uuid_or_none(data.get("namespaceId")),
            namespace=namespace["path"] if namespace else None,
            created_by_id=_uuid_or_none(data.get("createdById")),
            supersedes_id=_uuid_or_none(data.get("supersedesId")),
            attrs=dict(data.get("attrs") or {}),
            created_at=_instant(data["createdAt"]),
            confidence=Confidence.from_json(data["confidence"]),
        )


@dataclass(frozen=True)
class Edge:
    """A typed, directed relation from one claim to another."""

    id: uuid.UUID
    source_id: uuid.UUID
    target_id: uuid.UUID
    edge_type: str
    strength: float
    created_by_id: uuid.UUID | None
    source_provenance_id: uuid.UUID | None
    attrs: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_json(cls, data: Json) -> Edge:
        return cls(
            id=_uuid(data["id"]),
            source_id=_uuid(data["sourceId"]),
            target_id=_uuid(data["targetId"]),
            edge_type=str(data["edgeType"]),
            strength=float(data["strength"]),
            created_by_id=_uuid_or_none(data.get("createdById")),
            source_provenance_id=_uuid_or_none(data.get("sourceProvenanceId")),
            attrs=dict(data.get("attrs") or {}),
            created_at=_instant(data["createdAt"]),
        )


@dataclass(frozen=True)
class PendingReference:
    """An edge of a bundle waiting for its external target (a DOI, URL, arXiv id)."""

    id: uuid.UUID
    claim_temp_id: str
    claim_id: uuid.UUID
    external_ref: str
    edge_type: str

    @classmethod
    def from_json(cls, data: Json) -> PendingReference:
        return cls(
            id=_uuid(data["id"]),
            claim_temp_id=str(data["claimTempId"]),
            claim_id=_uuid(data["claimId"]),
            external_ref=str(data["externalRef"]),
            edge_type=str(data["edgeType"]),
        )


@dataclass(frozen=True)
class ResolvedReference:
    """An earlier pending reference that a bundle's source resolved into an edge."""

    id: uuid.UUID
    external_ref: str
    source_claim_id: uuid.UUID
    edge_type: str
    resolved_to_id: uuid.UUID
    edge_id: uuid.UUID | None

    @classmethod
    def from_json(cls, data: Json) -> ResolvedReference:
        return cls(
            id=_uuid(data["id"]),
            external_ref=str(data["externalRef"]),
            source_claim_id=_uuid(data["sourceClaimId"]),
            edge_type=str(data["edgeType"]),
            resolved_to_id=_uuid(data["resolvedToId"]),
            edge_id=_uuid_or_none(data.get("edgeId")),
        )


@dataclass(frozen=True)
class BundleWarning:
    """Accepted but worth a look (NEAR_DUPLICATE, NO_EDGES, ...)."""

    path: str
    code: str
    message: str
    claim_id: uuid.UUID | None
    similar_claim_id: uuid.UUID | None
    similarity: float | None

    @classmethod
    def from_json(cls, data: Json) -> BundleWarning:
        return cls(
            path=str(data["path"]),
            code=str(data["code"]),
            message=str(data["message"]),
            claim_id=_uuid_or_none(data.get("claimId")),
            similar_claim_id=_uuid_or_none(data.get("similarClaimId")),
            similarity=_float_or_none(data.get("similarity")),
        )


@dataclass(frozen=True)
class BundleResult:
    """What `submit_bundle` wrote (or, when `replayed`, had written before)."""

    bundle_id: uuid.UUID
    source_id: uuid.UUID
    replayed: bool
    idempotency_key: str
    claims: dict[str, uuid.UUID]  # temp id -> claim id
    artifacts: dict[str, uuid.UUID]  # temp id -> artifact id
    edge_ids: list[uuid.UUID | None]  # one per input edge; None: pending or already there
    pending_references: list[PendingReference]
    resolved_references: list[ResolvedReference]
    warnings: list[BundleWarning]

    @classmethod
    def from_json(cls, data: Json, idempotency_key: str) -> BundleResult:
        return cls(
            bundle_id=_uuid(data["bundleId"]),
            source_id=_uuid(data["sourceId"]),
            replayed=bool(data["replayed"]),
            idempotency_key=idempotency_key,
            claims={c["tempId"]: _uuid(c["id"]) for c in data["claims"]},
            artifacts={a["tempId"]: _uuid(a["id"]) for a in data["artifacts"]},
            edge_ids=[_uuid_or_none(e) for e in data["edgeIds"]],
            pending_references=[PendingReference.from_json(p) for p in data["pendingReferences"]],
            resolved_references=[
                ResolvedReference.from_json(r) for r in data["resolvedReferences"]
            ],
            warnings=[BundleWarning.from_json(w) for w in data["warnings"]],
        )


@dataclass(frozen=True)
class SearchHit:
    claim: Claim
    rank: int  # 1-based
    score: float
    similarity: float | None
    snippet: str | None

    @classmethod
    def from_json(cls, data: Json) -> SearchHit:
        return cls(
            claim=Claim.from_json(data["claim"]),
            rank=int(data["rank"]),
            score=float(data["score"]),
            similarity=_float_or_none(data.get("similarity")),
            snippet=data.get("snippet"),
        )


@dataclass(frozen=True)
class TraversalNode:
    """A claim reached by a walk, at its shortest depth."""

    claim: Claim
    depth: int
    via: Edge | None  # None for the start
    reached_from: uuid.UUID | None

    @classmethod
    def from_json(cls, data: Json) -> TraversalNode:
        via = data.get("via")
        return cls(
            claim=Claim.from_json(data["claim"]),
            depth=int(data["depth"]),
            via=Edge.from_json(via) if via else None,
            reached_from=_uuid_or_none(data.get("reachedFrom")),
        )


@dataclass(frozen=True)
class TraversalResult:
    start: Claim
    nodes: list[TraversalNode]  # the start first, then shallowest first
    edges: list[Edge]
    truncated: bool

    @classmethod
    def from_json(cls, data: Json) -> TraversalResult:
        return cls(
            start=Claim.from_json(data["start"]),
            nodes=[TraversalNode.from_json(n) for n in data["nodes"]],
            edges=[Edge.from_json(e) for e in data["edges"]],
            truncated=bool(data["truncated"]),
        )


@dataclass(frozen=True)
class Path:
    """A shortest path: `claims` from start to end, `edges` between them in order."""

    length: int
    claims: list[Claim]
    edges: list[Edge]

    @classmethod
    def from_json(cls, data: Json) -> Path:
        return cls(
            length=int(data["length"]),
            claims=[Claim.from_json(c) for c in data["claims"]],
            edges=[Edge.from_json(e) for e in data["edges"]],
        )


@dataclass(frozen=True)
class EvidenceItem:
    claim: Claim
    depth: int
    via: Edge

    @classmethod
    def from_json(cls, data: Json) -> EvidenceItem:
        return cls(
            claim=Claim.from_json(data["claim"]),
            depth=int(data["depth"]),
            via=Edge.from_json(data["via"]),
        )


@dataclass(frozen=True)
class EvidenceSummary:
    supporting_count: int
    contradicting_count: int
    corroborating_count: int
    net_support: float  # -1 (only contradicted) .. 1 (only supported)

    @classmethod
    def from_json(cls, data: Json) -> EvidenceSummary:
        return cls(
            supporting_count=int(data["supportingCount"]),
            contradicting_count=int(data["contradictingCount"]),
            corroborating_count=int(data["corroboratingCount"]),
            net_support=float(data["netSupport"]),
        )


@dataclass(frozen=True)
class Evidence:
    claim: Claim
    supporting: list[EvidenceItem]
    corroborating: list[EvidenceItem]
    contradicting: list[EvidenceItem]
    summary: EvidenceSummary
    truncated: bool

    @classmethod
    def from_json(cls, data: Json) -> Evidence:
        return cls(
            claim=Claim.from_json(data["claim"]),
            supporting=[EvidenceItem.from_json(i) for i in data["supporting"]],
            corroborating=[EvidenceItem.from_json(i) for i in data["corroborating"]],
            contradicting=[EvidenceItem.from_json(i) for i in data["contradicting"]],
            summary=EvidenceSummary.from_json(data["summary"]),
            truncated=bool(data["truncated"]),
        )


@dataclass(frozen=True)
class Review:
    """One reviewer's verdict on one claim version."""

    id: uuid.UUID
    claim_id: uuid.UUID
    reviewer_id: uuid.UUID
    verdict: str
    confidence: float
    comment: str | None
    attrs: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_json(cls, data: Json) -> Review:
        return cls(
            id=_uuid(data["id"]),
            claim_id=_uuid(data["claimId"]),
            reviewer_id=_uuid(data["reviewerId"]),
            verdict=str(data["verdict"]),
            confidence=float(data["confidence"]),
            comment=data.get("comment"),
            attrs=dict(data.get("attrs") or {}),
            created_at=_instant(data["createdAt"]),
            updated_at=_instant(data["updatedAt"]),
        )


@dataclass(frozen=True)
class ReviewResult:
    review: Review
    replaced: bool  # True when it replaced this reviewer's earlier review of the claim

    @classmethod
    def from_json(cls, data: Json) -> ReviewResult:
        return cls(review=Review.from_json(data["review"]), replaced=bool(data["replaced"]))


@dataclass(frozen=True)
class Event:
    """One committed change from the outbox. `id` grows with every event."""

    id: str
    type: str
    payload: dict[str, Any]
    created_at: datetime

    @property
    def position(self) -> int:
        """The id as a number, for ordering."""
        return int(self.id)

    @classmethod
    def from_json(cls, data: Json) -> Event:
        return cls(
            id=str(data["id"]),
            type=str(data["type"]),
            payload=dict(data.get("payload") or {}),
            created_at=_instant(data["createdAt"]),
        )
