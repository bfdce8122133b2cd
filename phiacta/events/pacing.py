"""How fast one client may read the outbox back: the pace of `events(after)` replays.

A replay has no natural limit: the rows are already there, and sending rarely waits
(the client's socket buffers hold megabytes). Unpaced, one socket replaying a large
outbox through its twenty subscriptions kept the event loop busy enough to make every
other client's queries several times slower. Each client (API key, else address) gets
SUBSCRIPTION_REPLAY_EVENTS_PER_SECOND, shared by all its replays in this process, so
opening more subscriptions or sockets buys no more; live events are not paced.

Not thread-safe: use it from the event loop that serves the subscriptions.
"""

from __future__ import annotations

import asyncio
import time
import weakref

# Events a client may replay at once before pacing starts, in seconds of its rate: a
# short catch-up after a reconnect goes out without a pause.
BURST_SECONDS = 0.05
# Pauses shorter than this are rounded up: fewer, longer sleeps cost fewer timers.
MIN_PAUSE_SECONDS = 0.01


class ReplayPace:
    """A token bucket that lends: each event taken adds to a debt that drains at `rate`
    per second, and a taker sleeps off what exceeds the burst. Takers are served in the
    order they ask, so a client's replays share its rate evenly."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._debt = 0.0
        self._stamp = time.monotonic()

    async def take(self) -> None:
        """Wait, if need be, until one more event keeps the client within its rate;
        always lets the event loop run other tasks first."""
        now = time.monotonic()
        self._debt = max(0.0, self._debt - (now - self._stamp) * self.rate) + 1
        self._stamp = now
        pause = (self._debt - self.rate * BURST_SECONDS) / self.rate
        await asyncio.sleep(max(pause, MIN_PAUSE_SECONDS) if pause > 0 else 0)


class ReplayPaces:
    """One `ReplayPace` per client while any of its replays runs (held weakly: a
    client's pace is forgotten with its last replay)."""

    def __init__(self) -> None:
        self._paces: weakref.WeakValueDictionary[str, ReplayPace] = weakref.WeakValueDictionary()

    def of(self, client: str, rate: float) -> ReplayPace:
        pace = self._paces.get(client)
        if pace is None or pace.rate != rate:
            pace = ReplayPace(rate)
            self._paces[client] = pace
        return pace
