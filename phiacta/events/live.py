"""Starting and stopping everything live updates need, as one piece of the app lifespan:
the event bus (one LISTEN connection), the webhook worker and the periodic outbox prune."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from phiacta.events.bus import EventBus
from phiacta.events.prune import prune_periodically
from phiacta.events.webhooks import WebhookWorker
from phiacta.services import Services


@asynccontextmanager
async def live_updates(services: Services, conninfo: str) -> AsyncIterator[None]:
    """Run the bus, webhook worker and prune task for the lifespan; sets `services.bus`."""
    settings = services.settings
    bus = EventBus(conninfo, capacity=settings.subscription_queue_size)
    await bus.start()
    services.bus = bus
    worker = WebhookWorker(services.pool, settings, bus)
    tasks = [
        asyncio.create_task(worker.run(), name="phiacta-webhooks"),
        asyncio.create_task(prune_periodically(services.pool, settings), name="phiacta-prune"),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await worker.aclose()
        services.bus = None
        await bus.stop()
