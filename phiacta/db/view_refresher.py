"""Refreshing the materialized views in the background, debounced after writes.

Writers call `services.view_refresher.poke()` after their transaction commits. `poke`
only sets a flag, so it never delays the request. A task started by the app's lifespan
waits for that flag and refreshes both views, at most once every MATVIEW_REFRESH_SECONDS:
a burst of writes costs one refresh, and writes during a refresh cause one more after
it. `MATVIEW_REFRESH_SECONDS=0` disables the task; `poke` then does nothing.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from phiacta.db.pool import Pool
from phiacta.store import views as view_store

log = structlog.get_logger(__name__)


class ViewRefresher:
    """Debounced background refresh of `claims_latest` and `claims_with_confidence`.

    Not thread-safe: `poke` must be called from the event loop that runs `run`.
    """

    def __init__(self, interval_seconds: float = 0) -> None:
        self.interval_seconds = interval_seconds
        self.refreshes = 0
        self._dirty = asyncio.Event()
        self._refreshed = asyncio.Condition()
        self._last_started = float("-inf")

    @property
    def enabled(self) -> bool:
        return self.interval_seconds > 0

    def poke(self) -> None:
        """Ask for a refresh soon. Cheap and synchronous; call it after a commit."""
        if self.enabled:
            self._dirty.set()

    async def run(self, pool: Pool) -> None:
        """Refresh whenever poked, until cancelled. Failures are logged, never raised."""
        while True:
            await self._dirty.wait()
            delay = self._last_started + self.interval_seconds - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # Cleared before refreshing: a poke arriving during the refresh is kept.
            self._dirty.clear()
            self._last_started = time.monotonic()
            await self._refresh(pool)

    async def wait_for_refresh(self, after: int) -> int:
        """Wait until more than `after` refreshes finished; return the count.

        Wrap it in `asyncio.timeout`: it waits for as long as no refresh happens.
        """
        async with self._refreshed:
            await self._refreshed.wait_for(lambda: self.refreshes > after)
            return self.refreshes

    async def _refresh(self, pool: Pool) -> None:
        started = time.perf_counter()
        try:
            async with pool.connection() as conn:
                await view_store.refresh_materialized_views(conn)
        except Exception as exc:
            # The next poke tries again; a failed refresh must not end the task.
            log.warning("matview_refresh_failed", error=type(exc).__name__, detail=str(exc))
        else:
            log.debug(
                "matviews_refreshed", duration_ms=round((time.perf_counter() - started) * 1000, 1)
            )
        async with self._refreshed:
            self.refreshes += 1
            self._refreshed.notify_all()
