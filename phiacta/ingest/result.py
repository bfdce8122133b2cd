"""What `submitBundle` answers, and the JSON it is stored as for idempotent replays."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class TempIdMapping:
    temp_id: str
    id: UUID


@dataclass(frozen=True)
class BundleWarning:
    """Accepted, but worth a look: NEAR_DUPLICATE, NO_EDGES, EMBEDDING_FAILED, EDGE_EXISTS."""

    path: str
    code: str
    message: str
    claim_id: UUID | None = None
    similar_claim_id: UUID | None = None
    similarity: float | None = None


@dataclass(frozen=True)
class LeftReference:
    """An edge of this bundle waiting for its external target to arrive."""

    id: UUID
    claim_temp_id: str
    claim_id: UUID
    external_ref: str
    edge_type: str


@dataclass(frozen=True)
class ResolvedReference:
    """A pending reference of an earlier bundle that this bundle's source resolved."""

    id: UUID
    external_ref: str
    source_claim_id: UUID
    edge_type: str
    resolved_to: UUID
    edge_id: UUID | None


@dataclass(frozen=True)
class BundleResult:
    bundle_id: UUID
    source_id: UUID
    claims: list[TempIdMapping]
    artifacts: list[TempIdMapping]
    # One per input edge, in input order: None when it became a pending reference or the
    # same edge already existed.
    edge_ids: list[UUID | None]
    pending_references: list[LeftReference]
    resolved_references: list[ResolvedReference]
    warnings: list[BundleWarning]
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "bundleId": str(self.bundle_id),
            "sourceId": str(self.source_id),
            "claims": [{"tempId": m.temp_id, "id": str(m.id)} for m in self.claims],
            "artifacts": [{"tempId": m.temp_id, "id": str(m.id)} for m in self.artifacts],
            "edgeIds": [None if e is None else str(e) for e in self.edge_ids],
            "pendingReferences": [
                {
                    "id": str(r.id),
                    "claimTempId": r.claim_temp_id,
                    "claimId": str(r.claim_id),
                    "externalRef": r.external_ref,
                    "edgeType": r.edge_type,
                }
                for r in self.pending_references
            ],
            "resolvedReferences": [
                {
                    "id": str(r.id),
                    "externalRef": r.external_ref,
                    "sourceClaimId": str(r.source_claim_id),
                    "edgeType": r.edge_type,
                    "resolvedTo": str(r.resolved_to),
                    "edgeId": None if r.edge_id is None else str(r.edge_id),
                }
                for r in self.resolved_references
            ],
            "warnings": [
                {
                    "path": w.path,
                    "code": w.code,
                    "message": w.message,
                    "claimId": _str(w.claim_id),
                    "similarClaimId": _str(w.similar_claim_id),
                    "similarity": w.similarity,
                }
                for w in self.warnings
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BundleResult:
        return cls(
            bundle_id=UUID(data["bundleId"]),
            source_id=UUID(data["sourceId"]),
            claims=[TempIdMapping(m["tempId"], UUID(m["id"])) for m in data["claims"]],
            artifacts=[TempIdMapping(m["tempId"], UUID(m["id"])) for m in data["artifacts"]],
            edge_ids=[_uuid(e) for e in data["edgeIds"]],
            pending_references=[
                LeftReference(
                    id=UUID(r["id"]),
                    claim_temp_id=r["claimTempId"],
                    claim_id=UUID(r["claimId"]),
                    external_ref=r["externalRef"],
                    edge_type=r["edgeType"],
                )
                for r in data["pendingReferences"]
            ],
            resolved_references=[
                ResolvedReference(
                    id=UUID(r["id"]),
                    external_ref=r["externalRef"],
                    source_claim_id=UUID(r["sourceClaimId"]),
                    edge_type=r["edgeType"],
                    resolved_to=UUID(r["resolvedTo"]),
                    edge_id=_uuid(r["edgeId"]),
                )
                for r in data["resolvedReferences"]
            ],
            warnings=[
                BundleWarning(
                    path=w["path"],
                    code=w["code"],
                    message=w["message"],
                    claim_id=_uuid(w["claimId"]),
                    similar_claim_id=_uuid(w["similarClaimId"]),
                    similarity=w["similarity"],
                )
                for w in data["warnings"]
            ],
        )

    def as_replay(self) -> BundleResult:
        return replace(self, replayed=True)


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)
