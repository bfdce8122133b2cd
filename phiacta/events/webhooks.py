"""The webhook worker: turns outbox events into signed HTTP POSTs, with retries.

Two steps, both safe to run on several replicas at once:
1. Fan-out: for each webhook behind the outbox (locked with SKIP LOCKED), record a
   delivery row per matching event and advance the webhook's cursor, in one transaction.
2. Delivery: claim due delivery rows (SKIP LOCKED, with a lease), POST them, and record
   the outcome: delivered, retried later (WEBHOOK_RETRY_DELAYS), or given up.

Delivery is at least once: a worker that dies after the receiver answered but before
the outcome was recorded retries when the lease ends. Receivers deduplicate by
`X-Event-ID`. Each request carries `X-Signature: sha256=<hex HMAC-SHA256 of the body>`
keyed with the webhook's secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import psycopg
import structlog

from phiacta.config import Settings
from phiacta.db.pool import Pool
from phiacta.errors import ValidationFailed
from phiacta.events.bus import EventBus
from phiacta.events.filters import EventCriteria
from phiacta.store import Connection
from phiacta.store import events as event_store
from phiacta.store import webhooks as webhook_store
from phiacta.store.rows import EventRow
from phiacta.store.visibility import Visibility
from phiacta.store.webhooks import DueDelivery, NewDelivery

log = structlog.get_logger(__name__)

FANOUT_WEBHOOKS = 100
FANOUT_EVENTS = 500
DELIVERY_BATCH = 50
# The lease outlasts the request timeout, so a live worker always records first.
LEASE_MARGIN_SECONDS = 30.0


class UnsafeWebhookUrl(Exception):
    """The URL is not http(s), does not resolve, or resolves to a non-public address."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def envelope(event: EventRow) -> str:
    """The exact body POSTed for an event (stored, so every retry sends the same bytes)."""
    return json.dumps(
        {
            "id": str(event.id),
            "type": event.type,
            "createdAt": event.created_at.isoformat(),
            "payload": event.payload,
        },
        separators=(",", ":"),
        sort_keys=True,
    )


async def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse URLs that are not http(s) or that resolve to a private, loopback,
    link-local or otherwise non-global address (unless `allow_private`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeWebhookUrl("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise UnsafeWebhookUrl("must not carry credentials; use the secret to authenticate")
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname,
            parts.port or (443 if parts.scheme == "https" else 80),
            type=socket.SOCK_STREAM,
        )
    except OSError:
        raise UnsafeWebhookUrl(f"host {parts.hostname!r} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        mapped = getattr(address, "ipv4_mapped", None)
        if mapped is not None:
            address = mapped
        if not address.is_global or address.is_multicast:
            raise UnsafeWebhookUrl(
                f"host {parts.hostname!r} resolves to a non-public address ({address}); "
                "set WEBHOOKS_ALLOW_PRIVATE=true to allow it"
            )


async def validate_webhook_url(url: str, *, allow_private: bool, path: str = "url") -> None:
    try:
        await check_url(url, allow_private=allow_private)
    except UnsafeWebhookUrl as exc:
        raise ValidationFailed.single(path, str(exc)) from None


@dataclass(frozen=True)
class RunResult:
    fanned_out: int
    attempted: int


class WebhookWorker:
    """Runs both steps; `run_once()` does one pass, `run()` loops until cancelled."""

    def __init__(self, pool: Pool, settings: Settings, bus: EventBus | None = None) -> None:
        self._pool = pool
        self._settings = settings
        self._bus = bus
        self._client = httpx.AsyncClient(
            timeout=settings.webhook_timeout_seconds, follow_redirects=False
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def run(self) -> None:
        waker = asyncio.Event()
        if self._bus is not None:
            self._bus.add_waker(waker)
        try:
            while True:
                try:
                    result = await self.run_once()
                except (psycopg.Error, OSError) as exc:
                    log.warning("webhook_worker_failed", error=type(exc).__name__)
                    result = RunResult(0, 0)
                if result.fanned_out or result.attempted:
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._settings.webhook_poll_interval_seconds):
                        await waker.wait()
                waker.clear()
        finally:
            if self._bus is not None:
                self._bus.remove_waker(waker)

    async def run_once(self) -> RunResult:
        fanned_out = await self.fan_out()
        attempted = await self.deliver_due()
        return RunResult(fanned_out=fanned_out, attempted=attempted)

    async def fan_out(self) -> int:
        """Record deliveries for the events each webhook has not seen; how many."""
        recorded = 0
        async with self._pool.connection() as conn, conn.transaction():
            for hook in await webhook_store.lock_webhooks_for_fanout(conn, limit=FANOUT_WEBHOOKS):
                recorded += await self._fan_out_one(conn, hook)
        return recorded

    async def _fan_out_one(self, conn: Connection, hook: webhook_store.WebhookRow) -> int:
        events = await event_store.events_after(conn, hook.last_event_id, limit=FANOUT_EVENTS)
        if not events:
            return 0
        # A webhook receives what its creator may see: events about other agents' drafts
        # never leave the server.
        audience = Visibility(agent_id=hook.created_by)
        criteria = EventCriteria.from_json(hook.filter, hook.event_types, audience)
        deliveries = [
            NewDelivery(hook.id, e.id, e.type, envelope(e)) for e in events if criteria.matches(e)
        ]
        await webhook_store.insert_deliveries(conn, deliveries)
        await webhook_store.advance_cursor(conn, hook.id, events[-1].id)
        return len(deliveries)

    async def deliver_due(self) -> int:
        """Attempt every due delivery (up to a batch), concurrently; how many."""
        lease = self._settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
        async with self._pool.connection() as conn:
            due = await webhook_store.claim_due_deliveries(
                conn, limit=DELIVERY_BATCH, lease_seconds=lease
            )
        await asyncio.gather(*(self._attempt(delivery) for delivery in due))
        return len(due)

    async def _attempt(self, delivery: DueDelivery) -> None:
        status_code, error = await self._post(delivery)
        async with self._pool.connection() as conn:
            if error is None and status_code is not None:
                await webhook_store.record_success(conn, delivery.id, status_code)
                return
            retry_in = self._retry_delay(delivery.attempts)
            await webhook_store.record_failure(
                conn,
                delivery.id,
                status_code=status_code,
                error=error or "failed",
                retry_in=retry_in,
            )
        log.info(
            "webhook_delivery_failed",
            webhook_id=str(delivery.webhook_id),
            event_id=delivery.event_id,
            attempt=delivery.attempts,
            status_code=status_code,
            gave_up=retry_in is None,
        )

    def _retry_delay(self, attempts: int) -> float | None:
        delays = self._settings.webhook_retry_delays
        return delays[attempts - 1] if attempts <= len(delays) else None

    async def _post(self, delivery: DueDelivery) -> tuple[int | None, str | None]:
        """The response status and, when the attempt failed, why."""
        try:
            # Checked again at send time: DNS may have changed since registration.
            await check_url(delivery.url, allow_private=self._settings.webhooks_allow_private)
        except UnsafeWebhookUrl as exc:
            return None, str(exc)
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "phiacta-webhooks",
            "X-Event-ID": str(delivery.event_id),
            "X-Event-Type": delivery.event_type,
            "X-Timestamp": str(int(time.time())),
            "X-Signature": signature(delivery.secret, body),
        }
        try:
            response = await self._client.post(delivery.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"
