"""Outbox retention: events older than EVENTS_RETENTION_DAYS are deleted in bounded batches.

A client resuming with `events(after)` from further back than the retention gets what
is left. Finished webhook deliveries age out the same way; pending ones never do.
Run by `phiacta events prune` and periodically by every server process (concurrent
prunes are harmless: each batch deletes whatever rows are still there).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import structlog

from phiacta.config import Settings
from phiacta.db.pool import Pool
from phiacta.store import Connection
from phiacta.store import events as event_store
from phiacta.store import webhooks as webhook_store

log = structlog.get_logger(__name__)

PRUNE_BATCH = 5000

_BatchDelete = Callable[[], Awaitable[int]]


@dataclass(frozen=True)
class PruneResult:
    events: int
    deliveries: int


async def prune(
    conn: Connection, retention_days: float, *, batch: int = PRUNE_BATCH
) -> PruneResult:
    """Delete what is older than the retention, one autocommitted batch at a time."""
    before = datetime.now(UTC) - timedelta(days=retention_days)
    events = await _drain(
        lambda: event_store.delete_events_before(conn, before, batch=batch), batch
    )
    deliveries = await _drain(
        lambda: webhook_store.delete_finished_deliveries_before(conn, before, batch=batch), batch
    )
    return PruneResult(events=events, deliveries=deliveries)


async def _drain(delete_batch: _BatchDelete, batch: int) -> int:
    total = 0
    while True:
        deleted = await delete_batch()
        total += deleted
        if deleted < batch:
            return total


async def prune_periodically(pool: Pool, settings: Settings) -> None:
    """Prune every EVENTS_PRUNE_INTERVAL_SECONDS until cancelled; failures are logged."""
    while True:
        try:
            async with pool.connection() as conn:
                result = await prune(conn, settings.events_retention_days)
            if result.events or result.deliveries:
                log.info("events_pruned", events=result.events, deliveries=result.deliveries)
        except (psycopg.Error, OSError) as exc:
            log.warning("events_prune_failed", error=type(exc).__name__)
        await asyncio.sleep(settings.events_prune_interval_seconds)


def run_prune_command(settings: Settings, retention_days: float | None) -> int:
    """`phiacta events prune`: prune once and print what was deleted."""
    from phiacta.db.runtime import open_database

    async def run(url: str) -> PruneResult:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await prune(conn, retention_days or settings.events_retention_days)

    database = open_database(settings)
    try:
        result = asyncio.run(run(database.url))
    finally:
        database.stop_embedded()
    print(f"pruned {result.events} events and {result.deliveries} webhook deliveries")
    return 0
