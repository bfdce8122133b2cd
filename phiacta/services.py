"""The process-wide services the app's lifespan creates and every request shares."""

from __future__ import annotations

from dataclasses import dataclass, field

from phiacta.auth.authenticate import Authenticator
from phiacta.auth.ratelimit import InProcessRateLimiter, RateLimiter
from phiacta.config import Settings
from phiacta.db.pool import Pool
from phiacta.db.replicas import ReadRouter, ReadTarget
from phiacta.db.view_refresher import ViewRefresher
from phiacta.embeddings.base import EmbeddingProvider
from phiacta.events.bus import EventBus
from phiacta.events.pacing import ReplayPaces
from phiacta.graphql.loaders import ClaimReads


@dataclass
class Services:
    """Created once per process by the lifespan; passed around, never global."""

    settings: Settings
    pool: Pool
    head_revision: str
    authenticator: Authenticator
    # Which database serves a query: the primary or a replica (db/replicas.py).
    reads: ReadRouter
    # Writers call `view_refresher.poke()` after committing; see db/view_refresher.py.
    view_refresher: ViewRefresher = field(default_factory=ViewRefresher)
    # The LISTEN connection's fan-out (events/bus.py); None until the lifespan starts it.
    bus: EventBus | None = None
    embedder: EmbeddingProvider | None = None
    # Counts requests per caller and scope group (auth/ratelimit.py).
    rate_limiter: RateLimiter = field(default_factory=lambda: InProcessRateLimiter(60.0))
    # How fast each client replays the outbox through events(after) (events/pacing.py).
    replay_paces: ReplayPaces = field(default_factory=ReplayPaces)

    _claim_reads: dict[str, ClaimReads] = field(default_factory=dict)

    def claim_reads(self, target: ReadTarget | None = None) -> ClaimReads:
        """Claim-by-id reads shared by concurrent requests served by `target` (the
        primary when None; graphql/loaders.py); made on first use, inside the event
        loop that serves them."""
        name = target.name if target is not None else self.reads.primary.name
        reads = self._claim_reads.get(name)
        if reads is None:
            if target is None or target.replica is None:
                reads = ClaimReads(self.pool.connection)
            else:
                reads = ClaimReads(lambda: self.reads.connection(target))
            self._claim_reads[name] = reads
        return reads
