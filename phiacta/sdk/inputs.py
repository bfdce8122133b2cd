"""Typed inputs: a bundle and a claim filter, each turned into its GraphQL input shape.

Every method that takes one of these also takes a plain mapping already in the GraphQL
shape (`{"source": {"sourceType": "PAPER"}, "claims": [...]}`), passed through as is.
Enum values may be given in any case (`"paper"` or `"PAPER"`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GraphQLInput = dict[str, Any]


def compact(values: Mapping[str, Any]) -> GraphQLInput:
    """The mapping without its None values, so the server's defaults apply."""
    return {name: value for name, value in values.items() if value is not None}


def _enum(value: str | None) -> str | None:
    return None if value is None else value.upper()


@dataclass(frozen=True)
class BundleSource:
    """The one source every claim of a bundle comes from."""

    source_type: str = "PAPER"
    title: str | None = None
    external_ref: str | None = None  # DOI, URL or arXiv id
    content_hash: str | None = None  # SHA-256, hex
    attrs: dict[str, Any] | None = None

    def to_graphql(self) -> GraphQLInput:
        return compact(
            {
                "sourceType": _enum(self.source_type),
                "title": self.title,
                "externalRef": self.external_ref,
                "contentHash": self.content_hash,
                "attrs": self.attrs,
            }
        )


@dataclass(frozen=True)
class BundleClaim:
    """A new claim; `temp_id` names it inside the bundle (edges and artifacts use it)."""

    temp_id: str
    content: str
    claim_type: str = "ASSERTION"
    formal_content: str | None = None
    namespace: str | None = None
    status: str = "ACTIVE"
    confidence: float | None = None  # extraction confidence, stored on provenance
    extraction_method: str | None = None
    location_in_source: str | None = None
    attrs: dict[str, Any] | None = None

    def to_graphql(self) -> GraphQLInput:
        return compact(
            {
                "tempId": self.temp_id,
                "content": self.content,
                "claimType": _enum(self.claim_type),
                "formalContent": self.formal_content,
                "namespace": self.namespace,
                "status": _enum(self.status),
                "confidence": self.confidence,
                "extractionMethod": self.extraction_method,
                "locationInSource": self.location_in_source,
                "attrs": self.attrs,
            }
        )


@dataclass(frozen=True)
class ClaimRef:
    """One end of a bundle edge: exactly one of a temp id, an existing claim id, or
    (targets only) an external reference that waits until a source carrying it arrives."""

    temp_id: str | None = None
    claim_id: uuid.UUID | str | None = None
    external_ref: str | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.temp_id, self.claim_id, self.external_ref) if v is not None]
        if len(given) != 1:
            raise ValueError("a ClaimRef needs exactly one of temp_id, claim_id, external_ref")

    def to_graphql(self) -> GraphQLInput:
        return compact(
            {
                "tempId": self.temp_id,
                "claimId": None if self.claim_id is None else str(self.claim_id),
                "externalRef": self.external_ref,
            }
        )


@dataclass(frozen=True)
class BundleEdge:
    """A relation inside the bundle; a plain string end is a temp id."""

    source: ClaimRef | str
    target: ClaimRef | str
    edge_type: str
    strength: float = 1.0
    attrs: dict[str, Any] | None = None

    def to_graphql(self) -> GraphQLInput:
        return compact(
            {
                "source": _ref(self.source),
                "target": _ref(self.target),
                "edgeType": self.edge_type,
                "strength": self.strength,
                "attrs": self.attrs,
            }
        )


def _ref(end: ClaimRef | str) -> GraphQLInput:
    return (ClaimRef(temp_id=end) if isinstance(end, str) else end).to_graphql()


@dataclass(frozen=True)
class BundleArtifact:
    """A figure, table, recording or code attached to claims of the bundle."""

    artifact_type: str
    temp_id: str | None = None
    description: str | None = None
    storage_ref: str | None = None
    content_inline: str | None = None
    structured_data: Any = None
    claim_temp_ids: Sequence[str] = ()
    attrs: dict[str, Any] | None = None

    def to_graphql(self) -> GraphQLInput:
        return compact(
            {
                "artifactType": _enum(self.artifact_type),
                "tempId": self.temp_id,
                "description": self.description,
                "storageRef": self.storage_ref,
                "contentInline": self.content_inline,
                "structuredData": self.structured_data,
                "claimTempIds": list(self.claim_temp_ids),
                "attrs": self.attrs,
            }
        )


@dataclass(frozen=True)
class BundleInput:
    """One atomic submission: every claim, edge and artifact is written, or none.

    Without `idempotency_key`, `submit_bundle` makes one up and reuses it on its retries.
    """

    source: BundleSource
    claims: Sequence[BundleClaim]
    edges: Sequence[BundleEdge] = ()
    artifacts: Sequence[BundleArtifact] = ()
    idempotency_key: str | None = None
    extension_id: str | None = None
    contributor_id: uuid.UUID | str | None = None
    namespace: str | None = None
    create_namespaces: bool = False
    attrs: dict[str, Any] | None = None

    def to_graphql(self) -> GraphQLInput:
        return compact(
            {
                "idempotencyKey": self.idempotency_key,
                "source": self.source.to_graphql(),
                "claims": [c.to_graphql() for c in self.claims],
                "edges": [e.to_graphql() for e in self.edges],
                "artifacts": [a.to_graphql() for a in self.artifacts],
                "extensionId": self.extension_id,
                "contributorId": None if self.contributor_id is None else str(self.contributor_id),
                "namespace": self.namespace,
                "createNamespaces": self.create_namespaces,
                "attrs": self.attrs,
            }
        )


@dataclass(frozen=True)
class ClaimFilter:
    """Which claims to list or search; every condition given must hold."""

    namespace: str | None = None  # `biology` only, or `biology.*` with its subtree
    claim_types: Sequence[str] | None = None
    statuses: Sequence[str] | None = None
    created_by: uuid.UUID | str | None = None
    source: uuid.UUID | str | None = None
    latest_only: bool = True
    include_retracted: bool = False
    attrs: dict[str, Any] | None = None  # the claim's attrs must contain this
    created_after: datetime | None = None
    created_before: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # newer ClaimFilter fields

    def to_graphql(self) -> GraphQLInput:
        return compact(
            {
                "namespace": self.namespace,
                "claimTypes": _enums(self.claim_types),
                "statuses": _enums(self.statuses),
                "createdBy": _str_or_none(self.created_by),
                "source": _str_or_none(self.source),
                "latestOnly": self.latest_only,
                "includeRetracted": self.include_retracted,
                "attrs": self.attrs,
                "createdAfter": _iso_or_none(self.created_after),
                "createdBefore": _iso_or_none(self.created_before),
                **self.extra,
            }
        )


def _enums(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else [v.upper() for v in values]


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def as_graphql(value: BundleInput | ClaimFilter | Mapping[str, Any] | None) -> GraphQLInput | None:
    """A typed input in its GraphQL shape; a mapping is taken to be in that shape already."""
    if value is None:
        return None
    if isinstance(value, BundleInput | ClaimFilter):
        return value.to_graphql()
    return dict(value)
