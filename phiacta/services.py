"""The process-wide services the app's lifespan creates and every request shares."""

from __future__ import annotations

from dataclasses import dataclass, field

from phiacta.auth.authenticate import Authenticator
from phiacta.auth.ratelimit import InProcessRateLimiter, RateLimiter
from phiacta.config import Settings
from phiacta.db.pool import Pool
from phiacta.db.view_refresher import ViewRefresher
from phiacta.embeddings.base import EmbeddingProvider
from phiacta.events.bus import EventBus


@dataclass
class Services:
    """Created once per process by the lifespan; passed around, never global."""

    settings: Settings
    pool: Pool
    head_revision: str
    authenticator: Authenticator
    # Writers call `view_refresher.poke()` after committing; see db/view_refresher.py.
    view_refresher: ViewRefresher = field(default_factory=ViewRefresher)
    # The LISTEN connection's fan-out (events/bus.py); None until the lifespan starts it.
    bus: EventBus | None = None
    embedder: EmbeddingProvider | None = None
    # Counts requests per caller and scope group (auth/ratelimit.py).
    rate_limiter: RateLimiter = field(default_factory=lambda: InProcessRateLimiter(60.0))
