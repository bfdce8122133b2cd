"""The per-process event bus: one LISTEN connection, fanned out to in-process subscribers.

Guarantees:
- Every event committed to the outbox is offered to every subscriber registered before
  it was dispatched, once, in id order. The bus tracks the last id it dispatched and
  reads "everything after it" from the outbox, which is complete because ids commit in
  order (`phiacta.store.events`). Notifications only wake it up: a lost or coalesced
  notification loses nothing.
- When the LISTEN connection drops, the bus reconnects with exponential backoff and
  catches up from the outbox, so events committed meanwhile are dispatched late, never
  lost.
- A subscriber that lets its bounded buffer fill is dropped at once (its `on_overflow`
  runs); dispatch never waits for a subscriber, so one slow consumer slows no other.

Not thread-safe: use it from the event loop that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable

import psycopg
import structlog

from phiacta.errors import Unavailable
from phiacta.store import Connection
from phiacta.store import events as event_store
from phiacta.store import server as server_store
from phiacta.store.rows import EventRow

log = structlog.get_logger(__name__)

# Operators (and tests) find this process's listener in pg_stat_activity by this name.
LISTENER_APPLICATION_NAME = "phiacta-listener"
READ_BATCH = 500
READY_TIMEOUT_SECONDS = 10.0
MIN_BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 5.0

EventFilter = Callable[[EventRow], bool]

_instances = itertools.count(1)


class SubscriberOverflowed(Exception):
    """The subscriber fell further behind than its buffer allows and was dropped."""


class Subscriber:
    """One consumer's bounded buffer of events, filled by the bus, drained by `next()`."""

    def __init__(
        self,
        *,
        capacity: int,
        accepts: EventFilter | None,
        on_overflow: Callable[[], None] | None,
    ) -> None:
        self._buffer: deque[EventRow] = deque()
        self._capacity = capacity
        self._accepts = accepts
        self._on_overflow = on_overflow
        self._wakeup = asyncio.Event()
        self.overflowed = False

    def offer(self, event: EventRow) -> bool:
        """Buffer `event` if wanted; False when the buffer is full (the subscriber is done)."""
        if self._accepts is not None and not self._accepts(event):
            return True
        if len(self._buffer) >= self._capacity:
            self.overflowed = True
            self._buffer.clear()
            self._wakeup.set()
            if self._on_overflow is not None:
                self._on_overflow()
            return False
        self._buffer.append(event)
        self._wakeup.set()
        return True

    async def next(self) -> EventRow:
        """The oldest buffered event, waiting for one; raises `SubscriberOverflowed`."""
        while not self._buffer:
            if self.overflowed:
                raise SubscriberOverflowed
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._buffer.popleft()


class EventBus:
    """Owns the LISTEN connection of one server process. `start()` then `stop()`."""

    def __init__(self, conninfo: str, *, capacity: int) -> None:
        self._conninfo = conninfo
        self._capacity = capacity
        # Unique in this process: event ids are only unique within one database, so
        # anything cached by event id is also keyed by the bus that read it.
        self.instance = next(_instances)
        self._subscribers: set[Subscriber] = set()
        self._wakers: set[asyncio.Event] = set()
        self._position: int | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def position(self) -> int | None:
        """The id of the last event dispatched (None before the first connection)."""
        return self._position

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="phiacta-event-bus")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._subscribers.clear()

    async def subscribe(
        self,
        *,
        accepts: EventFilter | None = None,
        on_overflow: Callable[[], None] | None = None,
    ) -> tuple[Subscriber, int]:
        """A new subscriber and the bus position it starts after.

        The subscriber is offered every event with an id above that position; events at
        or below it are already in the outbox (read them there to replay).
        """
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await self._ready.wait()
        except TimeoutError:
            raise Unavailable("live updates are unavailable: the database is unreachable") from None
        # No await between reading the position and registering: dispatch cannot slip in.
        assert self._position is not None
        subscriber = Subscriber(capacity=self._capacity, accepts=accepts, on_overflow=on_overflow)
        self._subscribers.add(subscriber)
        return subscriber, self._position

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def add_waker(self, waker: asyncio.Event) -> None:
        """Set `waker` whenever new events have been dispatched (for background workers)."""
        self._wakers.add(waker)

    def remove_waker(self, waker: asyncio.Event) -> None:
        self._wakers.discard(waker)

    async def _run(self) -> None:
        backoff = MIN_BACKOFF_SECONDS
        while True:
            try:
                async with await self._connect() as conn:
                    await server_store.listen(conn, event_store.NOTIFY_CHANNEL)
                    # LISTEN first, then read the position: an event committed in
                    # between is both notified and after the position.
                    if self._position is None:
                        self._position = await event_store.last_event_id(conn)
                    self._ready.set()
                    backoff = MIN_BACKOFF_SECONDS
                    await self._follow(conn)
            except (psycopg.Error, OSError) as exc:
                log.warning(
                    "event_listener_lost", error=type(exc).__name__, retry_in_s=round(backoff, 3)
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _connect(self) -> Connection:
        return await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            application_name=LISTENER_APPLICATION_NAME,
            # A half-open TCP connection must not leave the bus deaf forever.
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        )

    async def _follow(self, conn: Connection) -> None:
        """Catch up from the outbox, then again after every wake-up, until the connection
        fails."""
        await self._catch_up(conn)
        while True:
            newest = await self._wait_for_news(conn)
            if self._subscribers or newest is None:
                await self._catch_up(conn)
            else:
                # Nobody in this process listens: skip reading the rows (a bundle writes
                # one per claim and edge). Ids are committed in order, so every event up
                # to the notified one is in the outbox, where a later subscriber's
                # replay (`events(after)`) finds it.
                self._advance(newest)

    async def _wait_for_news(self, conn: Connection) -> int | None:
        """The newest event id notified once it is one not dispatched yet (None when a
        notification does not say).

        Notifications pile up while a catch-up reads a burst; those naming events already
        dispatched are skipped instead of costing a read each.
        """
        while True:
            newest = 0
            async for notify in conn.notifies(stop_after=1):
                try:
                    newest = max(newest, int(notify.payload))
                except ValueError:
                    return None
            if self._position is None or newest > self._position:
                return newest

    async def _catch_up(self, conn: Connection) -> None:
        assert self._position is not None
        while True:
            batch = await event_store.events_after(conn, self._position, limit=READ_BATCH)
            if batch:
                self._dispatch(batch)
            if len(batch) < READ_BATCH:
                return

    def _dispatch(self, batch: list[EventRow]) -> None:
        for event in batch:
            dropped = [s for s in self._subscribers if not s.offer(event)]
            for subscriber in dropped:
                self._subscribers.discard(subscriber)
                log.warning("subscriber_dropped", reason="buffer_full", event_id=event.id)
        self._advance(batch[-1].id)

    def _advance(self, position: int) -> None:
        assert self._position is not None
        self._position = max(self._position, position)
        for waker in self._wakers:
            waker.set()
