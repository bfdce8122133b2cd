"""The per-request GraphQL context: the shared services plus who is asking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from phiacta.auth.viewer import Viewer
from phiacta.config import Settings
from phiacta.db.replicas import ReadTarget, ReplicaUnavailable
from phiacta.graphql.loaders import Loaders
from phiacta.services import Services
from phiacta.store import Connection
from phiacta.store.prefetch import ClaimWithOutgoing
from phiacta.store.visibility import PUBLIC, Visibility


def visibility_of(viewer: Viewer | None) -> Visibility:
    if viewer is None:
        return PUBLIC
    return Visibility(agent_id=viewer.agent_id, sees_all_drafts=viewer.is_admin)


@dataclass
class Context:
    services: Services
    request: Request | WebSocket
    response: Response | WebSocket | None
    request_id: str
    viewer: Viewer | None = None
    # Where this request's reads go; None is the primary (mutations, subscriptions).
    read_target: ReadTarget | None = None
    # Set when a read on the replica failed: the view runs the query again on the primary.
    replica_failed: bool = False

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def visibility(self) -> Visibility:
        """What the caller may see (drafts are private to their creator and admins)."""
        return visibility_of(self.viewer)

    @cached_property
    def loaders(self) -> Loaders:
        """This request's DataLoaders, made on first use and dropped with the request."""
        return Loaders(self.connection, self.visibility, self.settings.max_traversal_depth)

    def release(self) -> None:
        """Drop this request's DataLoaders once it is answered: they refer back to the
        context (their connections come from it), a cycle that would leave them and
        every row they hold to the cyclic garbage collector."""
        self.__dict__.pop("loaders", None)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection in autocommit mode; open `conn.transaction()` to write."""
        target = self.read_target
        if target is None or target.replica is None:
            async with self.services.pool.connection() as conn:
                yield conn
            return
        try:
            async with self.services.reads.connection(target) as conn:
                yield conn
        except ReplicaUnavailable:
            self.replica_failed = True
            raise

    async def read_claim(
        self, claim_id: UUID, edge_types: tuple[str, ...] | None, limit: int
    ) -> ClaimWithOutgoing | None:
        """One claim with its creator and outgoing edges, read together with the other
        requests' claims on the same database (`ClaimReads`)."""
        try:
            return await self.services.claim_reads(self.read_target).load(
                claim_id, edge_types, limit, self.visibility
            )
        except ReplicaUnavailable:
            self.replica_failed = True
            raise


Info = StrawberryInfo[Context, None]
