"""Per-request DataLoaders: every nested field is read in batches, never row by row.

A `Loaders` lives on the request's Context (created on first use, dropped with the
request), so its caches never serve one request's rows to another. Each batch function
takes one pooled connection and runs one statement for all the keys gathered in the same
tick, which keeps the number of statements of a query independent of its page size.
Paged children (edges, reviews) are keyed by owner and page arguments; keys with the
same arguments share one statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from strawberry.dataloader import DataLoader

from phiacta.store import Connection
from phiacta.store import agents as agent_store
from phiacta.store import artifacts as artifact_store
from phiacta.store import bundles as bundle_store
from phiacta.store import claims as claim_store
from phiacta.store import edge_types as edge_type_store
from phiacta.store import edges as edge_store
from phiacta.store import namespaces as namespace_store
from phiacta.store import provenance as provenance_store
from phiacta.store import reviews as review_store
from phiacta.store import sources as source_store
from phiacta.store.claims import ClaimRow, ConfidenceRow, SimilarClaimRow
from phiacta.store.edge_types import EdgeTypeRow
from phiacta.store.edges import EdgeDirection
from phiacta.store.namespaces import NamespaceRow
from phiacta.store.rows import (
    AgentRow,
    ArtifactRow,
    BundleRow,
    EdgeRow,
    ProvenanceRow,
    ReviewRow,
    SourceRow,
)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
GroupT = TypeVar("GroupT", bound=Hashable)

ConnectionFactory = Callable[[], AbstractAsyncContextManager[Connection]]


@dataclass(frozen=True)
class EdgePageKey:
    claim_id: UUID
    direction: EdgeDirection
    edge_types: tuple[str, ...] | None
    limit: int
    after: tuple[datetime, UUID] | None


@dataclass(frozen=True)
class EdgeCountKey:
    claim_id: UUID
    direction: EdgeDirection
    edge_types: tuple[str, ...] | None


@dataclass(frozen=True)
class ReviewPageKey:
    claim_id: UUID
    limit: int
    after: tuple[datetime, UUID] | None


@dataclass(frozen=True)
class SimilarKey:
    claim_id: UUID
    limit: int


def _by_id(
    connection: ConnectionFactory,
    fetch: Callable[[Connection, list[K]], Awaitable[dict[K, V]]],
) -> DataLoader[K, V | None]:
    async def load(keys: list[K]) -> list[V | None]:
        async with connection() as conn:
            found = await fetch(conn, keys)
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


def _grouped(
    connection: ConnectionFactory,
    group_of: Callable[[K], GroupT],
    owner_of: Callable[[K], UUID],
    fetch: Callable[[Connection, GroupT, list[UUID]], Awaitable[dict[UUID, V]]],
    empty: Callable[[], V],
) -> DataLoader[K, V]:
    """A loader whose keys are (owner, arguments): one statement per distinct arguments."""

    async def load(keys: list[K]) -> list[V]:
        groups: dict[GroupT, list[UUID]] = defaultdict(list)
        for key in keys:
            groups[group_of(key)].append(owner_of(key))
        results: dict[GroupT, dict[UUID, V]] = {}
        async with connection() as conn:
            for group, owners in groups.items():
                results[group] = await fetch(conn, group, list(dict.fromkeys(owners)))
        return [results[group_of(key)].get(owner_of(key)) or empty() for key in keys]

    return DataLoader(load_fn=load)


class Loaders:
    """The DataLoaders of one request."""

    def __init__(self, connection: ConnectionFactory) -> None:
        self._connection = connection
        self.claim: DataLoader[UUID, ClaimRow | None] = _by_id(connection, claim_store.claims_by_id)
        self.agent: DataLoader[UUID, AgentRow | None] = _by_id(connection, agent_store.agents_by_id)
        self.namespace: DataLoader[UUID, NamespaceRow | None] = _by_id(
            connection, namespace_store.namespaces_by_id
        )
        self.source: DataLoader[UUID, SourceRow | None] = _by_id(
            connection, source_store.sources_by_id
        )
        self.bundle: DataLoader[UUID, BundleRow | None] = _by_id(
            connection, bundle_store.bundles_by_id
        )
        self.edge: DataLoader[UUID, EdgeRow | None] = _by_id(connection, edge_store.edges_by_id)
        self.edge_type: DataLoader[str, EdgeTypeRow | None] = _by_id(
            connection, edge_type_store.edge_types_by_name
        )
        self.confidence: DataLoader[UUID, ConfidenceRow | None] = _by_id(
            connection, claim_store.confidence_of_claims
        )
        self.provenance: DataLoader[UUID, list[ProvenanceRow] | None] = _by_id(
            connection, provenance_store.provenance_of_claims
        )
        self.versions: DataLoader[UUID, list[ClaimRow] | None] = _by_id(
            connection, claim_store.versions_of_lineages
        )
        self.artifacts_of_claim: DataLoader[UUID, list[ArtifactRow] | None] = _by_id(
            connection, artifact_store.artifacts_of_claims
        )
        self.artifacts_of_bundle: DataLoader[UUID, list[ArtifactRow] | None] = _by_id(
            connection, artifact_store.artifacts_of_bundles
        )
        self.claims_of_artifact: DataLoader[UUID, list[ClaimRow] | None] = _by_id(
            connection, artifact_store.claims_of_artifacts
        )
        self.edge_page: DataLoader[EdgePageKey, list[EdgeRow]] = _grouped(
            connection,
            lambda k: (k.direction, k.edge_types, k.limit, k.after),
            lambda k: k.claim_id,
            lambda conn, g, ids: edge_store.edges_of_claims(
                conn, ids, g[0], g[1], limit=g[2], after=g[3]
            ),
            list,
        )
        self.edge_count: DataLoader[EdgeCountKey, int] = _grouped(
            connection,
            lambda k: (k.direction, k.edge_types),
            lambda k: k.claim_id,
            lambda conn, g, ids: edge_store.count_edges_of_claims(conn, ids, g[0], g[1]),
            int,
        )
        self.review_page: DataLoader[ReviewPageKey, list[ReviewRow]] = _grouped(
            connection,
            lambda k: (k.limit, k.after),
            lambda k: k.claim_id,
            lambda conn, g, ids: review_store.reviews_of_claims(conn, ids, limit=g[0], after=g[1]),
            list,
        )
        self.review_count: DataLoader[UUID, int | None] = _by_id(
            connection, review_store.count_reviews_of_claims
        )
        self.similar: DataLoader[SimilarKey, list[SimilarClaimRow]] = _grouped(
            connection,
            lambda k: k.limit,
            lambda k: k.claim_id,
            lambda conn, limit, ids: claim_store.similar_to_claims(conn, ids, limit),
            list,
        )

        self.namespace_children: DataLoader[UUID | None, list[NamespaceRow]] = DataLoader(
            load_fn=self._namespace_children
        )

    async def _namespace_children(self, parents: list[UUID | None]) -> list[list[NamespaceRow]]:
        # The tree is small and read whole (see store.namespaces), so one read serves
        # every parent asked about.
        async with self._connection() as conn:
            rows = await namespace_store.all_namespaces(conn)
        children: dict[UUID | None, list[NamespaceRow]] = defaultdict(list)
        for row in rows:
            children[row.parent_id].append(row)
        return [children.get(parent, []) for parent in parents]

    def prime_claims(self, rows: Sequence[ClaimRow]) -> None:
        """Remember claims a list or walk already read, so nested fields do not re-read them."""
        for row in rows:
            self.claim.prime(row.id, row)

    def prime_edges(self, rows: Sequence[EdgeRow]) -> None:
        for row in rows:
            self.edge.prime(row.id, row)
