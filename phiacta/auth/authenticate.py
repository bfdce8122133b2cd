"""Turning `Authorization: Bearer <key>` into a Viewer, without an argon2 hash per request.

A key verified once is cached in process (bounded, with a TTL), keyed by the SHA-256 of
the raw key. Verifications are counted per client before hashing (`AttemptLimit`), and
an unknown prefix costs the same hash as a known one. Every request still asks the
database whether the key is usable (one primary-key lookup), so a revocation or an
expiry takes effect on the very next request on every replica. `last_used_at` is
written at most once a minute per key and process.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from uuid import UUID

from phiacta.auth import ratelimit
from phiacta.auth.keys import cache_key, hash_secret, parse_api_key, verify_secret
from phiacta.auth.ratelimit import RateLimiter
from phiacta.auth.viewer import Scope, Viewer
from phiacta.db.pool import Pool
from phiacta.errors import RateLimited, Unauthenticated
from phiacta.observability import metrics
from phiacta.store import api_keys as api_key_store

CACHE_SIZE = 10_000
CACHE_TTL_SECONDS = 300.0
LAST_USED_INTERVAL_SECONDS = 60.0


@dataclass(frozen=True)
class AttemptLimit:
    """Verifications (keys not in the cache: mostly wrong ones) per client and
    rate-limit window, counted in the `auth` group before any argon2 hash is computed:
    guessing keys costs the server a lookup, not a hash."""

    limiter: RateLimiter
    per_window: int

    async def take(self, client: str | None) -> None:
        caller = ratelimit.caller_of(None, client)
        decision = await self.limiter.hit(caller, ratelimit.AUTH, self.per_window)
        if not decision.allowed:
            raise RateLimited(
                f"too many API keys tried from this address; retry in {decision.retry_after} s",
                decision.retry_after,
            )


@functools.cache
def _dummy_hash() -> str:
    return hash_secret(secrets.token_urlsafe(32), secrets.token_hex(16))


@dataclass
class _Cached:
    viewer: Viewer
    cached_at: float


def bearer_token(authorization: str | None) -> str | None:
    """The token of a Bearer header; None when there is no header at all."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must read: Bearer <api key>")
    return token.strip()


class Authenticator:
    """Verifies API keys for one process. Safe to share between concurrent requests."""

    def __init__(self, pool: Pool, pepper: str, attempts: AttemptLimit | None = None) -> None:
        self._pool = pool
        self._pepper = pepper
        self._attempts = attempts
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._last_touch: dict[UUID, float] = {}

    async def authenticate(
        self, authorization: str | None, client: str | None = None
    ) -> Viewer | None:
        """The caller's Viewer; None when anonymous; UNAUTHENTICATED when the key is bad;
        RATE_LIMITED when `client` (its address) tried too many keys not verified yet."""
        token = bearer_token(authorization)
        if token is None:
            return None
        digest = cache_key(token)
        cached = self._cache.get(digest)
        if cached is None or time.monotonic() - cached.cached_at > CACHE_TTL_SECONDS:
            if self._attempts is not None:
                await self._attempts.take(client)
            cached = await self._verify(token, digest)
        else:
            self._cache.move_to_end(digest)
        async with self._pool.connection() as conn:
            usable = await api_key_store.key_is_usable(conn, cached.viewer.key_id)
            if usable and self._due_for_touch(cached.viewer.key_id):
                await api_key_store.touch_last_used(conn, cached.viewer.key_id)
        if not usable:
            self._cache.pop(digest, None)
            raise Unauthenticated("the API key is revoked or expired")
        return cached.viewer

    @property
    def pepper(self) -> str:
        """API_KEY_SALT as resolved at start-up; new keys are hashed with it."""
        return self._pepper

    def forget(self, key_id: UUID) -> None:
        """Drop a key from this process's cache (after revoking it here)."""
        for digest in [d for d, c in self._cache.items() if c.viewer.key_id == key_id]:
            del self._cache[digest]

    async def _verify(self, token: str, digest: str) -> _Cached:
        parts = parse_api_key(token)
        if parts is None:
            raise Unauthenticated("the API key is malformed")
        async with self._pool.connection() as conn:
            row = await api_key_store.key_with_agent(conn, parts.prefix)
        # argon2 is CPU-bound (~20 ms): keep it off the event loop. An unknown prefix is
        # checked against a dummy hash, so its answer takes as long as a wrong secret's
        # and the timing does not tell which prefixes exist.
        metrics.API_KEY_HASHES.inc()
        valid = await asyncio.to_thread(
            verify_secret,
            row.hash if row is not None else _dummy_hash(),
            parts.secret,
            self._pepper,
        )
        if row is None or not valid:
            raise Unauthenticated("the API key is not valid")
        viewer = Viewer(
            agent_id=row.agent_id,
            key_id=row.id,
            key_prefix=row.prefix,
            scopes=frozenset(Scope(s) for s in row.scopes),
            agent_type=row.agent_type,
            agent_name=row.agent_name,
            manifest=dict(row.agent_attrs.get("manifest") or {}),
            rate_limits={str(k): int(v) for k, v in (row.rate_limits or {}).items()},
        )
        entry = _Cached(viewer=viewer, cached_at=time.monotonic())
        self._cache[digest] = entry
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return entry

    def _due_for_touch(self, key_id: UUID) -> bool:
        now = time.monotonic()
        if now - self._last_touch.get(key_id, float("-inf")) < LAST_USED_INTERVAL_SECONDS:
            return False
        self._last_touch[key_id] = now
        return True
