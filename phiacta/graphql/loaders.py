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
from functools import cached_property
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
    """The DataLoaders of one request, each made on first use: a request touches a few
    of them, and making all of them cost more than some whole queries."""

    def __init__(self, connection: ConnectionFactory) -> None:
        self._connection = connection

    @cached_property
    def claim(self) -> DataLoader[UUID, ClaimRow | None]:
        return _by_id(self._connection, claim_store.claims_by_id)

    @cached_property
    def agent(self) -> DataLoader[UUID, AgentRow | None]:
        return _by_id(self._connection, agent_store.agents_by_id)

    @cached_property
    def namespace(self) -> DataLoader[UUID, NamespaceRow | None]:
        return _by_id(self._connection, namespace_store.namespaces_by_id)

    @cached_property
    def source(self) -> DataLoader[UUID, SourceRow | None]:
        return _by_id(self._connection, source_store.sources_by_id)

    @cached_property
    def bundle(self) -> DataLoader[UUID, BundleRow | None]:
        return _by_id(self._connection, bundle_store.bundles_by_id)

    @cached_property
    def edge(self) -> DataLoader[UUID, EdgeRow | None]:
        return _by_id(self._connection, edge_store.edges_by_id)

    @cached_property
    def edge_type(self) -> DataLoader[str, EdgeTypeRow | None]:
        return _by_id(self._connection, edge_type_store.edge_types_by_name)

    @cached_property
    def confidence(self) -> DataLoader[UUID, ConfidenceRow | None]:
        return _by_id(self._connection, claim_store.confidence_of_claims)

    @cached_property
    def provenance(self) -> DataLoader[UUID, list[ProvenanceRow] | None]:
        return _by_id(self._connection, provenance_store.provenance_of_claims)

    @cached_property
    def versions(self) -> DataLoader[UUID, list[ClaimRow] | None]:
        return _by_id(self._connection, claim_store.versions_of_lineages)

    @cached_property
    def artifacts_of_claim(self) -> DataLoader[UUID, list[ArtifactRow] | None]:
        return _by_id(self._connection, artifact_store.artifacts_of_claims)

    @cached_property
    def artifacts_of_bundle(self) -> DataLoader[UUID, list[ArtifactRow] | None]:
        return _by_id(self._connection, artifact_store.artifacts_of_bundles)

    @cached_property
    def claims_of_artifact(self) -> DataLoader[UUID, list[ClaimRow] | None]:
        return _by_id(self._connection, artifact_store.claims_of_artifacts)

    @cached_property
    def edge_page(self) -> DataLoader[EdgePageKey, list[EdgeRow]]:
        return _grouped(
            self._connection,
            lambda k: (k.direction, k.edge_types, k.limit, k.after),
            lambda k: k.claim_id,
            lambda conn, g, ids: edge_store.edges_of_claims(
                conn, ids, g[0], g[1], limit=g[2], after=g[3]
            ),
            list,
        )

    @cached_property
    def edge_count(self) -> DataLoader[EdgeCountKey, int]:
        return _grouped(
            self._connection,
            lambda k: (k.direction, k.edge_types),
            lambda k: k.claim_id,
            lambda conn, g, ids: edge_store.count_edges_of_claims(conn, ids, g[0], g[1]),
            int,
        )

    @cached_property
    def review_page(self) -> DataLoader[ReviewPageKey, list[ReviewRow]]:
        return _grouped(
            self._connection,
            lambda k: (k.limit, k.after),
            lambda k: k.claim_id,
            lambda conn, g, ids: review_store.reviews_of_claims(conn, ids, limit=g[0], after=g[1]),
            list,
        )

    @cached_property
    def review_count(self) -> DataLoader[UUID, int | None]:
        return _by_id(self._connection, review_store.count_reviews_of_claims)

    @cached_property
    def similar(self) -> DataLoader[SimilarKey, list[SimilarClaimRow]]:
        return _grouped(
            self._connection,
            lambda k: k.limit,
            lambda k: k.claim_id,
            lambda conn, limit, ids: claim_store.similar_to_claims(conn, ids, limit),
            list,
        )

    @cached_property
    def namespace_children(self) -> DataLoader[UUID | None, list[NamespaceRow]]:
        return DataLoader(load_fn=self._namespace_children)

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
