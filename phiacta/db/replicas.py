"""Read replicas: which database serves a read, and how fresh it must be.

Queries may go to the streaming replicas of DATABASE_REPLICA_URLS; mutations,
subscriptions and everything else use the primary (DATABASE_URL). A `ReadRouter`
decides per request, from what its monitor last saw of each replica:

- read-your-writes: a caller's reads after its own write need a replica that has
  replayed that write (`pg_last_wal_replay_lsn()` at or past the write's LSN); the
  router remembers the last write of each API key in this process, and clients send
  the `X-Phiacta-LSN` a mutation's response carried to be served as fresh by any
  process. No replica far enough along: the primary serves the read.
- a replica further behind than REPLICA_MAX_LAG_MS serves nothing until it catches up.
  Behind is measured against the primary: the monitor samples the primary's WAL
  position at each check, and a replica's lag is how long ago the primary first had
  WAL the replica has not replayed (within a check interval). PostgreSQL's own
  `now() - pg_last_xact_replay_timestamp()` counts from the last *transaction*
  replayed: on a primary without writes for a while, any WAL that is not a commit
  (autovacuum, a checkpoint) made a replica a few milliseconds behind look as far
  behind as the primary had been idle, and skipped it;
- a replica that fails (a broken connection, no connection within
  REPLICA_POOL_TIMEOUT) is skipped until REPLICA_RETRY_SECONDS have passed and a probe
  answers again; the read that hit the failure raises `ReplicaUnavailable` so its
  caller can run it again on the primary.

The monitor reads each replica every REPLICA_CHECK_INTERVAL_MS over a connection of
its own, outside the replica's pool, so a saturated pool does not hide a healthy
server. Nothing here is global: the app's lifespan makes one router per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit

import psycopg
import structlog
from psycopg.rows import TupleRow
from psycopg_pool import PoolTimeout

from phiacta.config import Settings
from phiacta.db.pool import APPLICATION_NAME, Pool, create_pool
from phiacta.observability import metrics
from phiacta.store import server as server_store

log = structlog.get_logger(__name__)

PRIMARY = "primary"
MONITOR_APPLICATION_NAME = f"{APPLICATION_NAME}-replica-monitor"
# Callers whose last write is remembered; past this the longest-idle writer is forgotten
# (its reads may then see a replica without its write, unless it sends the token).
MAX_REMEMBERED_WRITERS = 100_000


class ReplicaUnavailable(Exception):
    """A read on a replica failed for a reason the primary would not have: run it there."""

    def __init__(self, replica: str, reason: str) -> None:
        super().__init__(f"replica {replica} is unavailable: {reason}")
        self.replica = replica


class LsnError(ValueError):
    """A string that is not a PostgreSQL LSN such as `16/B374D848`."""


def parse_lsn(text: str) -> int:
    """`16/B374D848` (pg_lsn's text form) as the 64-bit WAL position it names."""
    high, slash, low = text.strip().partition("/")
    if not slash or not 0 < len(high) <= 8 or not 0 < len(low) <= 8:
        raise LsnError(f"{text!r} is not an LSN such as 16/B374D848")
    try:
        return (int(high, 16) << 32) | int(low, 16)
    except ValueError:
        raise LsnError(f"{text!r} is not an LSN such as 16/B374D848") from None


def format_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


class ReplicaState(StrEnum):
    STARTING = "starting"
    UP = "up"
    LAGGING = "lagging"
    DOWN = "down"
    # Answers, but is not a standby (promoted, or a primary's URL by mistake).
    NOT_STANDBY = "not_standby"


@dataclass
class Replica:
    """One replica as the monitor last saw it."""

    name: str
    conninfo: str
    pool: Pool
    state: ReplicaState = ReplicaState.STARTING
    replay_lsn: int | None = None
    lag_ms: float | None = None
    error: str | None = None
    retry_at: float = 0.0
    monitor_conn: psycopg.AsyncConnection[TupleRow] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """Host, port and database, without credentials, for reports."""
        parts = urlsplit(self.conninfo)
        query = dict(parse_qsl(parts.query))
        host = parts.hostname or query.get("host", "")
        port = parts.port or query.get("port", "")
        return f"{host}:{port}{parts.path}" if port else f"{host}{parts.path}"

    def report(self) -> dict[str, object]:
        return {
            "name": self.name,
            "address": self.address,
            "state": str(self.state),
            "replay_lsn": format_lsn(self.replay_lsn) if self.replay_lsn is not None else None,
            "lag_ms": round(self.lag_ms, 1) if self.lag_ms is not None else None,
            **({"error": self.error} if self.error else {}),
        }


@dataclass(frozen=True)
class ReadTarget:
    """Where one request's reads go: the primary's pool or one replica's."""

    name: str
    pool: Pool
    replica: Replica | None = None


class ReadRouter:
    """Chooses a read target per request and keeps the replicas' state current.

    Safe to share between the requests of one event loop; `open()` starts the monitor,
    `close()` stops it and closes the replicas' pools (the primary's pool is the app's).
    """

    def __init__(self, settings: Settings, primary: Pool, replicas: Sequence[Replica]) -> None:
        self.settings = settings
        self.primary = ReadTarget(PRIMARY, primary)
        self.replicas = list(replicas)
        self._targets = {r.name: ReadTarget(r.name, r.pool, r) for r in self.replicas}
        self._turn = itertools.count()
        self._writes: OrderedDict[str, int] = OrderedDict()
        self._monitor: asyncio.Task[None] | None = None
        # (monotonic time, the primary's WAL position then), kept when the position
        # moved, for the lag window: each replica's lag is read against it.
        self._primary_positions: deque[tuple[float, int]] = deque()

    @classmethod
    def from_settings(cls, settings: Settings, primary: Pool) -> ReadRouter:
        replicas = [
            Replica(
                name=f"replica-{index}",
                conninfo=url,
                pool=create_pool(
                    settings,
                    url,
                    name=f"phiacta-replica-{index}",
                    timeout=settings.replica_pool_timeout,
                ),
            )
            for index, url in enumerate(settings.database_replica_urls)
        ]
        return cls(settings, primary, replicas)

    @property
    def enabled(self) -> bool:
        return bool(self.replicas)

    async def open(self) -> None:
        if not self.replicas:
            return
        for replica in self.replicas:
            await replica.pool.open(wait=False)
        await self.check_all()
        self._monitor = asyncio.create_task(self._watch(), name="phiacta-replica-monitor")

    async def close(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        for replica in self.replicas:
            await self._drop_monitor_connection(replica)
            await replica.pool.close()

    # ── Choosing ────────────────────────────────────────────────────────────────

    def choose(self, caller: str | None, token_lsn: int | None) -> ReadTarget:
        """The target for a query: a healthy replica that has replayed the caller's
        last write (remembered or sent as a token), else the primary."""
        target = self._choose(caller, token_lsn)
        metrics.read_routed(target.name)
        return target

    def _choose(self, caller: str | None, token_lsn: int | None) -> ReadTarget:
        if not self.replicas:
            return self.primary
        needed = max(self.last_write(caller) or 0, token_lsn or 0)
        usable = [
            r
            for r in self.replicas
            if r.state is ReplicaState.UP and r.replay_lsn is not None and r.replay_lsn >= needed
        ]
        if not usable:
            up = any(r.state is ReplicaState.UP for r in self.replicas)
            metrics.read_fallback("unreplayed" if up else "no_replica")
            return self.primary
        return self._targets[usable[next(self._turn) % len(usable)].name]

    def last_write(self, caller: str | None) -> int | None:
        return self._writes.get(caller) if caller is not None else None

    def remember_write(self, caller: str | None, lsn: int) -> None:
        if caller is None:
            return
        self._writes[caller] = max(lsn, self._writes.get(caller, 0))
        self._writes.move_to_end(caller)
        while len(self._writes) > MAX_REMEMBERED_WRITERS:
            self._writes.popitem(last=False)

    async def write_position(self) -> int:
        """The primary's WAL position now: past every write committed before the call."""
        async with self.primary.pool.connection() as conn:
            return parse_lsn(await server_store.write_position(conn))

    # ── Reading ─────────────────────────────────────────────────────────────────

    @asynccontextmanager
    async def connection(
        self, target: ReadTarget
    ) -> AsyncIterator[psycopg.AsyncConnection[TupleRow]]:
        """A connection of `target`. On a replica, a failure the primary would not have
        (the server gone, no connection in time, a recovery conflict) marks the replica
        down when it is the server's fault and raises `ReplicaUnavailable`."""
        replica = target.replica
        if replica is None:
            async with target.pool.connection() as conn:
                yield conn
            return
        try:
            async with target.pool.connection() as conn:
                yield conn
        except psycopg.errors.QueryCanceled:
            raise
        except psycopg.errors.SerializationFailure as exc:
            # "canceling statement due to conflict with recovery": the replica is fine.
            raise ReplicaUnavailable(replica.name, str(exc)) from exc
        except (psycopg.OperationalError, PoolTimeout) as exc:
            self.mark_down(replica, exc)
            raise ReplicaUnavailable(replica.name, type(exc).__name__) from exc

    def mark_down(self, replica: Replica, exc: BaseException) -> None:
        if replica.state is not ReplicaState.DOWN:
            log.warning("replica_down", replica=replica.name, error=repr(exc))
        replica.state = ReplicaState.DOWN
        replica.error = type(exc).__name__
        replica.retry_at = time.monotonic() + self.settings.replica_retry_seconds
        metrics.replica_observed(replica.name, up=False, lag_ms=None)

    # ── Watching ────────────────────────────────────────────────────────────────

    async def _watch(self) -> None:
        interval = self.settings.replica_check_interval_ms / 1000
        while True:
            await asyncio.sleep(interval)
            await self.check_all()

    async def check_all(self) -> None:
        # The primary is sampled beside the replicas, not before them: a busy primary
        # pool delays the note, never the replicas' states (read against the notes
        # so far, their lag is at worst one check interval short).
        await asyncio.gather(self._sample_primary(), *(self.check(r) for r in self.replicas))
        self._forget_replayed_writes()

    async def _sample_primary(self) -> None:
        """Note where the primary's WAL stands now (when it moved since the last note),
        and forget notes older than the lag window."""
        try:
            async with asyncio.timeout(self.settings.replica_pool_timeout):
                position = await self.write_position()
        except (psycopg.Error, OSError, TimeoutError, PoolTimeout) as exc:
            log.debug("primary_position_unread", error=repr(exc))
            return
        self.note_primary_position(time.monotonic(), position)

    def note_primary_position(self, now: float, position: int) -> None:
        positions = self._primary_positions
        if not positions or position > positions[-1][1]:
            positions.append((now, position))
        # Kept: past REPLICA_MAX_LAG_MS, so a replica older than every note is lagging.
        window = self.settings.replica_max_lag_ms / 1000 + 1.0
        while len(positions) > 1 and positions[1][0] < now - window:
            positions.popleft()

    def lag_ms(self, replay: int, now: float, reported_ms: float) -> float:
        """How far behind a replica that replayed up to `replay` is: since the primary
        first had WAL past it (0 when it has all the primary had at the last note).
        Behind even the oldest note, it may have been behind for longer than the notes
        go back: then PostgreSQL's `reported_ms` too, whichever is larger (and that
        alone before any note)."""
        positions = self._primary_positions
        if not positions:
            return reported_ms
        if positions[0][1] > replay:
            return max((now - positions[0][0]) * 1000, reported_ms)
        for noted_at, position in positions:
            if position > replay:
                return max(0.0, (now - noted_at) * 1000)
        return 0.0

    async def check(self, replica: Replica) -> None:
        """Read the replica's replay position and lag; a down replica only once its
        retry time has come."""
        if replica.state is ReplicaState.DOWN and time.monotonic() < replica.retry_at:
            return
        was_down = replica.state is ReplicaState.DOWN
        try:
            async with asyncio.timeout(self.settings.replica_pool_timeout):
                conn = await self._monitor_connection(replica)
                in_recovery, replay, lag_ms = await server_store.standby_status(conn)
        except (psycopg.Error, OSError, TimeoutError) as exc:
            await self._drop_monitor_connection(replica)
            self.mark_down(replica, exc)
            return
        if not in_recovery or replay is None:
            replica.state, replica.error = ReplicaState.NOT_STANDBY, "not in recovery"
            replica.replay_lsn = replica.lag_ms = None
            metrics.replica_observed(replica.name, up=False, lag_ms=None)
            return
        if was_down:
            # Connections broken when it went down are dropped before reads go there.
            with contextlib.suppress(Exception):
                await replica.pool.check()
            log.info("replica_up", replica=replica.name)
        replica.replay_lsn = parse_lsn(str(replay))
        replica.lag_ms = self.lag_ms(replica.replay_lsn, time.monotonic(), float(lag_ms))
        replica.error = None
        lagging = replica.lag_ms > self.settings.replica_max_lag_ms
        replica.state = ReplicaState.LAGGING if lagging else ReplicaState.UP
        metrics.replica_observed(replica.name, up=True, lag_ms=replica.lag_ms)

    async def _monitor_connection(self, replica: Replica) -> psycopg.AsyncConnection[TupleRow]:
        conn = replica.monitor_conn
        if conn is None or conn.closed:
            conn = await psycopg.AsyncConnection.connect(
                replica.conninfo,
                autocommit=True,
                application_name=MONITOR_APPLICATION_NAME,
                connect_timeout=max(1, int(self.settings.replica_pool_timeout)),
                prepare_threshold=None,
            )
            replica.monitor_conn = conn
        return conn

    async def _drop_monitor_connection(self, replica: Replica) -> None:
        conn, replica.monitor_conn = replica.monitor_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    def _forget_replayed_writes(self) -> None:
        """Writes every replica has replayed need no remembering."""
        positions = [r.replay_lsn for r in self.replicas if r.state is ReplicaState.UP]
        if not self._writes or len(positions) < len(self.replicas) or None in positions:
            return
        everywhere = min(p for p in positions if p is not None)
        for caller in [c for c, lsn in self._writes.items() if lsn <= everywhere]:
            del self._writes[caller]

    def report(self) -> list[dict[str, object]]:
        """Each replica's state, for /ready."""
        return [replica.report() for replica in self.replicas]
