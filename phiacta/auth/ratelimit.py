"""Rate limits per caller and scope group, in fixed windows.

A caller is its API key (`key:<id>`) or, when anonymous, its client IP (`ip:<addr>`).
Each request takes one unit from one scope group, chosen from its GraphQL operation
(see `phiacta.graphql.engine.limits.operation_group`). A group's limit is, in order of
precedence: the key's own override (`api_keys.rate_limits`), the RATE_LIMITS setting,
then `DEFAULT_LIMITS`.

Windows are fixed and aligned to the clock (`window_index = now // window`), so every
replica agrees on when a window resets without talking to the others. The in-process
limiter counts per process; `RedisRateLimiter` counts in Redis, shared by every
replica, and falls back to counting in process while Redis is unreachable (a limiter
outage must not take the API down).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from phiacta.auth.viewer import Viewer
from phiacta.config import Settings
from phiacta.errors import RateLimited

log = structlog.get_logger(__name__)

Clock = Callable[[], float]

BUNDLES_WRITE = "bundles:write"
CLAIMS_READ = "claims:read"
CLAIMS_WRITE = "claims:write"
REVIEWS_WRITE = "reviews:write"
SEARCH = "search"
ADMIN = "admin"
# API keys verified (not yet in the cache) per client address: an argon2 hash each.
AUTH = "auth"

# Requests per window (a minute by default). The first three are the guide's.
DEFAULT_LIMITS: dict[str, int] = {
    BUNDLES_WRITE: 60,
    CLAIMS_READ: 300,
    SEARCH: 120,
    CLAIMS_WRITE: 120,
    REVIEWS_WRITE: 120,
    ADMIN: 60,
    AUTH: 30,
}
GROUPS = frozenset(DEFAULT_LIMITS)

# In-process windows are swept when the table grows past this many entries.
MAX_TRACKED_WINDOWS = 100_000
# After a Redis failure, count in process this long before trying Redis again.
REDIS_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Decision:
    """The outcome of taking one unit from a caller's group in the current window."""

    limit: int
    remaining: int
    reset_at: int  # Unix time (seconds) at which the window's count starts again.
    allowed: bool
    retry_after: int  # Seconds to wait before retrying; 0 when allowed.

    def headers(self) -> dict[str, str]:
        values = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if not self.allowed:
            values["Retry-After"] = str(self.retry_after)
        return values


class RateLimiter(Protocol):
    window_seconds: float
    clock: Clock

    async def hit(self, caller: str, group: str, limit: int, units: int = 1) -> Decision:
        """Count `units` (a request, or each write of a mutation) of `caller` in
        `group` and say whether it may run."""
        ...

    async def close(self) -> None: ...


def _decide(count: int, limit: int, window_index: int, window: float, now: float) -> Decision:
    reset = (window_index + 1) * window
    allowed = count <= limit
    return Decision(
        limit=limit,
        remaining=max(0, limit - count),
        reset_at=math.ceil(reset),
        allowed=allowed,
        retry_after=0 if allowed else max(1, math.ceil(reset - now)),
    )


class InProcessRateLimiter:
    """Fixed-window counters in this process. Safe within one event loop."""

    def __init__(self, window_seconds: float, clock: Clock = time.time) -> None:
        self.window_seconds = window_seconds
        self.clock = clock
        self._counts: dict[tuple[str, str, int], int] = {}

    async def hit(self, caller: str, group: str, limit: int, units: int = 1) -> Decision:
        now = self.clock()
        index = int(now // self.window_seconds)
        key = (caller, group, index)
        count = self._counts.get(key, 0) + units
        self._counts[key] = count
        if len(self._counts) > MAX_TRACKED_WINDOWS:
            self._sweep(index)
        return _decide(count, limit, index, self.window_seconds, now)

    async def close(self) -> None:
        self._counts.clear()

    def _sweep(self, current_index: int) -> None:
        for key in [k for k in self._counts if k[2] < current_index]:
            del self._counts[key]


# INCRBY and the expiry in one atomic step: a counter can never be left without a TTL.
_INCREMENT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
"""


class RedisRateLimiter:
    """Fixed-window counters in Redis, shared by every replica."""

    def __init__(self, url: str, window_seconds: float, clock: Clock = time.time) -> None:
        self.window_seconds = window_seconds
        self.clock = clock
        self._redis: Redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._redis.register_script(_INCREMENT)
        self._fallback = InProcessRateLimiter(window_seconds, clock)
        self._failing = False
        self._retry_at = 0.0

    async def hit(self, caller: str, group: str, limit: int, units: int = 1) -> Decision:
        now = self.clock()
        index = int(now // self.window_seconds)
        key = f"phiacta:ratelimit:{group}:{caller}:{index}"
        # The key outlives its window a little so a slow clock on one replica still
        # finds the count its peers made.
        ttl_ms = int(self.window_seconds * 1000) + 1000
        if self._failing and time.monotonic() < self._retry_at:
            return await self._fallback.hit(caller, group, limit, units)
        try:
            count = int(await self._script(keys=[key], args=[ttl_ms, units]))
        except (RedisError, OSError) as exc:
            if not self._failing:
                log.warning("rate_limit_redis_unavailable", error=type(exc).__name__)
                self._failing = True
            # Requests do not each wait for a connect timeout while Redis is down.
            self._retry_at = time.monotonic() + REDIS_RETRY_SECONDS
            return await self._fallback.hit(caller, group, limit, units)
        if self._failing:
            log.info("rate_limit_redis_recovered")
            self._failing = False
        return _decide(count, limit, index, self.window_seconds, now)

    async def close(self) -> None:
        await self._redis.aclose()


def create_rate_limiter(settings: Settings, clock: Clock = time.time) -> RateLimiter:
    """Redis-backed when REDIS_URL is set, else in process."""
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, settings.rate_limit_window_seconds, clock)
    return InProcessRateLimiter(settings.rate_limit_window_seconds, clock)


def limit_for(group: str, settings: Settings, viewer: Viewer | None) -> int:
    """Requests per window for `group`: the key's override, the setting, the default."""
    if viewer is not None and group in viewer.rate_limits:
        return viewer.rate_limits[group]
    if group in settings.rate_limits:
        return settings.rate_limits[group]
    return DEFAULT_LIMITS.get(group, DEFAULT_LIMITS[CLAIMS_READ])


def caller_of(viewer: Viewer | None, client_ip: str | None) -> str:
    if viewer is not None:
        return f"key:{viewer.key_id}"
    return f"ip:{client_ip or 'unknown'}"


async def take(
    limiter: RateLimiter,
    settings: Settings,
    viewer: Viewer | None,
    client_ip: str | None,
    groups: set[str],
    units: int = 1,
) -> Decision | None:
    """Count one request (`units`: a mutation's writes) in the strictest of its groups;
    None when limits are off.

    Raises RATE_LIMITED when the caller is over; the decision's headers belong on the
    response either way (they are on the raised error's `decision`)."""
    if not settings.rate_limit_enabled:
        return None
    group = min(sorted(groups), key=lambda g: limit_for(g, settings, viewer))
    limit = limit_for(group, settings, viewer)
    decision = await limiter.hit(caller_of(viewer, client_ip), group, limit, units)
    if not decision.allowed:
        raise OverLimit(
            f"rate limit of {limit} requests per {settings.rate_limit_window_seconds:g} s "
            f"exceeded for {group}; retry in {decision.retry_after} s",
            decision,
        )
    return decision


class OverLimit(RateLimited):
    """RATE_LIMITED with the decision that refused it (for the response headers)."""

    def __init__(self, message: str, decision: Decision) -> None:
        super().__init__(message, decision.retry_after)
        self.decision = decision
