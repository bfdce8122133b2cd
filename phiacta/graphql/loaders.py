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
from phiacta.store import confidence as confidence_store
from phiacta.store import edge_types as edge_type_store
from phiacta.store import edges as edge_store
from phiacta.store import namespaces as namespace_store
from phiacta.store import prefetch as prefetch_store
from phiacta.store import provenance as provenance_store
from phiacta.store import reviews as review_store
from phiacta.store import risk as risk_store
from phiacta.store import sources as source_store
from phiacta.store.claims import ClaimRow, SimilarClaimRow
from phiacta.store.confidence import ConfidenceRow, VersionReview
from phiacta.store.edge_types import EdgeTypeRow
from phiacta.store.edges import EdgeDirection
from phiacta.store.namespaces import NamespaceRow
from phiacta.store.prefetch import ClaimWithOutgoing
from phiacta.store.risk import RiskPath
from phiacta.store.rows import (
    AgentRow,
    ArtifactRow,
    BundleRow,
    EdgeRow,
    ProvenanceRow,
    ReviewRow,
    SourceRow,
)
from phiacta.store.visibility import Visibility

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

    def __init__(
        self, connection: ConnectionFactory, visibility: Visibility, risk_depth: int = 10
    ) -> None:
        self._connection = connection
        # Who is asking: every claim and edge loaded is one it may see.
        self.visibility = visibility
        # How many dependency steps a retraction reaches (MAX_TRAVERSAL_DEPTH).
        self.risk_depth = risk_depth

    # The batch functions below capture `visibility` and `depth`, never `self`: a
    # loader referring back to its Loaders would make a reference cycle, left to the
    # cyclic garbage collector with every row it holds.

    @cached_property
    def risk(self) -> DataLoader[UUID, list[RiskPath] | None]:
        visibility, depth = self.visibility, self.risk_depth
        return _by_id(
            self._connection,
            lambda conn, ids: risk_store.retracted_premises(conn, ids, depth, visibility),
        )

    @cached_property
    def claim(self) -> DataLoader[UUID, ClaimRow | None]:
        visibility = self.visibility
        return _by_id(
            self._connection,
            lambda conn, ids: claim_store.claims_by_id(conn, ids, visibility),
        )

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
        visibility = self.visibility
        return _by_id(
            self._connection, lambda conn, ids: edge_store.edges_by_id(conn, ids, visibility)
        )

    @cached_property
    def edge_type(self) -> DataLoader[str, EdgeTypeRow | None]:
        return _by_id(self._connection, edge_type_store.edge_types_by_name)

    @cached_property
    def confidence(self) -> DataLoader[UUID, ConfidenceRow | None]:
        return _by_id(self._connection, confidence_store.confidence_of_claims)

    @cached_property
    def lineage_confidence(self) -> DataLoader[UUID, ConfidenceRow | None]:
        return _by_id(self._connection, confidence_store.confidence_of_lineages)

    @cached_property
    def lineage_reviews(self) -> DataLoader[UUID, list[VersionReview] | None]:
        return _by_id(self._connection, confidence_store.reviews_of_lineages)

    @cached_property
    def provenance(self) -> DataLoader[UUID, list[ProvenanceRow] | None]:
        return _by_id(self._connection, provenance_store.provenance_of_claims)

    @cached_property
    def versions(self) -> DataLoader[UUID, list[ClaimRow] | None]:
        visibility = self.visibility
        return _by_id(
            self._connection,
            lambda conn, ids: claim_store.versions_of_lineages(conn, ids, visibility),
        )

    @cached_property
    def artifacts_of_claim(self) -> DataLoader[UUID, list[ArtifactRow] | None]:
        return _by_id(self._connection, artifact_store.artifacts_of_claims)

    @cached_property
    def artifacts_of_bundle(self) -> DataLoader[UUID, list[ArtifactRow] | None]:
        return _by_id(self._connection, artifact_store.artifacts_of_bundles)

    @cached_property
    def claims_of_artifact(self) -> DataLoader[UUID, list[ClaimRow] | None]:
        visibility = self.visibility
        return _by_id(
            self._connection,
            lambda conn, ids: artifact_store.claims_of_artifacts(conn, ids, visibility),
        )

    @cached_property
    def edge_page(self) -> DataLoader[EdgePageKey, list[EdgeRow]]:
        visibility = self.visibility
        return _grouped(
            self._connection,
            lambda k: (k.direction, k.edge_types, k.limit, k.after),
            lambda k: k.claim_id,
            lambda conn, g, ids: edge_store.edges_of_claims(
                conn, ids, g[0], g[1], limit=g[2], after=g[3], visibility=visibility
            ),
            list,
        )

    @cached_property
    def edge_count(self) -> DataLoader[EdgeCountKey, int]:
        visibility = self.visibility
        return _grouped(
            self._connection,
            lambda k: (k.direction, k.edge_types),
            lambda k: k.claim_id,
            lambda conn, g, ids: edge_store.count_edges_of_claims(
                conn, ids, g[0], g[1], visibility
            ),
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
        visibility = self.visibility
        return _grouped(
            self._connection,
            lambda k: k.limit,
            lambda k: k.claim_id,
            lambda conn, limit, ids: claim_store.similar_to_claims(conn, ids, limit, visibility),
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


@dataclass(frozen=True)
class ClaimReadKey:
    claim_id: UUID
    edge_types: tuple[str, ...] | None
    limit: int
    visibility: Visibility


class ClaimReads:
    """Claim-by-id reads (`store.prefetch`) of concurrent requests, one statement for
    those asked in the same turn of the event loop. One per process (`Services`).

    Under load a worker has many such requests in flight; reading their claims together
    shares the round trip and the statement's fixed costs. Unlike `Loaders`, nothing is
    kept: each read waits at most one turn of the loop and is answered by a statement
    sent after it was asked, so it sees every write committed before its request came.
    """

    def __init__(self, connection: ConnectionFactory) -> None:
        self._connection = connection
        self._loader: DataLoader[ClaimReadKey, ClaimWithOutgoing | None] = DataLoader(
            load_fn=self._read, cache=False
        )

    def load(
        self,
        claim_id: UUID,
        edge_types: tuple[str, ...] | None,
        limit: int,
        visibility: Visibility,
    ) -> Awaitable[ClaimWithOutgoing | None]:
        """The claim with its creator and first `limit` outgoing edges (only
        `edge_types` when given) and their targets, as `visibility` may see them; None
        when there is none."""
        return self._loader.load(ClaimReadKey(claim_id, edge_types, limit, visibility))

    async def _read(self, keys: list[ClaimReadKey]) -> list[ClaimWithOutgoing | None]:
        groups: dict[tuple[tuple[str, ...] | None, int, Visibility], list[int]] = defaultdict(list)
        for position, key in enumerate(keys):
            groups[(key.edge_types, key.limit, key.visibility)].append(position)
        found: list[ClaimWithOutgoing | None] = [None] * len(keys)
        async with self._connection() as conn:
            for (edge_types, limit, visibility), positions in groups.items():
                ids = [keys[position].claim_id for position in positions]
                read = await prefetch_store.claims_with_outgoing(
                    conn, ids, edge_types, limit, visibility
                )
                for position, claim in zip(positions, read, strict=True):
                    found[position] = claim
        return found
