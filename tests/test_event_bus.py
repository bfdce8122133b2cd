"""The event bus while nobody in the process subscribes: it follows the outbox by its
notifications alone, and a subscriber that arrives later misses nothing after it."""

from __future__ import annotations

import asyncio

from phiacta.events.bus import EventBus
from tests.live_client import append_events, claim_created

DEADLINE_SECONDS = 30


async def wait_for_position(bus: EventBus, position: int) -> None:
    waker = asyncio.Event()
    bus.add_waker(waker)
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while bus.position is None or bus.position < position:
                await waker.wait()
                waker.clear()
    finally:
        bus.remove_waker(waker)


async def test_a_bus_without_subscribers_advances_and_a_late_subscriber_gets_what_follows(
    database_url: str,
) -> None:
    bus = EventBus(database_url, capacity=100)
    await bus.start()
    try:
        probe, _ = await bus.subscribe()  # returns once the bus listens
        bus.unsubscribe(probe)
        unheard = await append_events(database_url, [claim_created("quiet") for _ in range(5)])
        await append_events(database_url, [claim_created("rolled back")], commit=False)
        await wait_for_position(bus, unheard[-1])
        assert bus.subscriber_count == 0

        subscriber, start = await bus.subscribe()
        assert start == unheard[-1]
        heard = await append_events(database_url, [claim_created("live") for _ in range(3)])
        received = []
        async with asyncio.timeout(DEADLINE_SECONDS):
            while len(received) < len(heard):
                received.append((await subscriber.next()).id)
        assert received == heard
    finally:
        await bus.stop()
