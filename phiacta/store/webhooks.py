"""Webhooks and their deliveries: registration, the outbox fan-out, and delivery state.

All delivery state is in these two tables, so a restart loses nothing and several
replicas can run the worker at once: the fan-out locks webhook rows and the delivery
step claims due rows with FOR UPDATE SKIP LOCKED, so no two workers hold the same row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection

# After this many failed attempts in a row (across deliveries) a webhook is "failing".
FAILING_AFTER = 5


@dataclass(frozen=True)
class WebhookRow:
    id: UUID
    url: str
    event_types: list[str]
    filter: dict[str, Any]
    secret: str
    created_by: UUID
    status: str
    consecutive_failures: int
    last_event_id: int
    last_success_at: datetime | None
    last_failure_at: datetime | None
    attrs: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class WebhookDeliveryRow:
    id: UUID
    webhook_id: UUID
    event_id: int
    event_type: str
    body: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class DueDelivery:
    """A delivery claimed for one attempt, with what the worker needs to send it."""

    id: UUID
    webhook_id: UUID
    event_id: int
    event_type: str
    body: str
    attempts: int
    url: str
    secret: str


@dataclass(frozen=True)
class NewDelivery:
    webhook_id: UUID
    event_id: int
    event_type: str
    body: str


WEBHOOK_COLUMNS = """
    id, url, event_types, filter, secret, created_by, status, consecutive_failures,
    last_event_id, last_success_at, last_failure_at, attrs, created_at
"""

DELIVERY_COLUMNS = """
    id, webhook_id, event_id, event_type, body, status, attempts, next_attempt_at,
    last_status_code, last_error, delivered_at, created_at
"""

# A new webhook starts at the outbox's current end: it receives what commits from now on.
INSERT_WEBHOOK = f"""
INSERT INTO webhooks (url, event_types, filter, secret, created_by, last_event_id)
VALUES (%(url)s, %(event_types)s, %(filter)s, %(secret)s, %(created_by)s,
        (SELECT coalesce(max(id), 0) FROM events))
RETURNING {WEBHOOK_COLUMNS}
"""

WEBHOOK_BY_ID = f"""
SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = %(id)s
"""

WEBHOOKS_OF = f"""
SELECT {WEBHOOK_COLUMNS} FROM webhooks
WHERE (%(created_by)s::uuid IS NULL OR created_by = %(created_by)s::uuid)
ORDER BY created_at, id
LIMIT %(limit)s
"""

DELETE_WEBHOOK = """
DELETE FROM webhooks WHERE id = %(id)s
"""

# Webhooks another worker is fanning out are skipped, not waited for.
LOCK_WEBHOOKS_FOR_FANOUT = f"""
SELECT {WEBHOOK_COLUMNS} FROM webhooks
WHERE last_event_id < (SELECT coalesce(max(id), 0) FROM events)
ORDER BY id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""

INSERT_DELIVERY = """
INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, body)
VALUES (%(webhook_id)s, %(event_id)s, %(event_type)s, %(body)s)
ON CONFLICT (webhook_id, event_id) DO NOTHING
"""

ADVANCE_CURSOR = """
UPDATE webhooks SET last_event_id = %(last_event_id)s
WHERE id = %(id)s AND last_event_id < %(last_event_id)s
"""

# Claiming pushes next_attempt_at out by a lease, committed before the POST: a worker
# that dies mid-attempt leaves the row to be retried once the lease ends.
CLAIM_DUE_DELIVERIES = """
WITH due AS (
    SELECT id FROM webhook_deliveries
    WHERE status = 'pending' AND next_attempt_at <= now()
    ORDER BY next_attempt_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE webhook_deliveries d
SET attempts = d.attempts + 1,
    next_attempt_at = now() + make_interval(secs => %(lease_seconds)s)
FROM due, webhooks w
WHERE d.id = due.id AND w.id = d.webhook_id
RETURNING d.id, d.webhook_id, d.event_id, d.event_type, d.body, d.attempts, w.url, w.secret
"""

RECORD_SUCCESS = """
WITH delivered AS (
    UPDATE webhook_deliveries
    SET status = 'delivered', delivered_at = now(), last_status_code = %(status_code)s,
        last_error = NULL
    WHERE id = %(id)s
    RETURNING webhook_id
)
UPDATE webhooks
SET consecutive_failures = 0, status = 'active', last_success_at = now()
WHERE id = (SELECT webhook_id FROM delivered)
"""

RECORD_FAILURE = """
WITH failed AS (
    UPDATE webhook_deliveries
    SET status = CASE WHEN %(retry_in)s::float8 IS NULL THEN 'failed' ELSE 'pending' END,
        next_attempt_at = now() + make_interval(secs => coalesce(%(retry_in)s::float8, 0)),
        last_status_code = %(status_code)s,
        last_error = %(error)s
    WHERE id = %(id)s
    RETURNING webhook_id
)
UPDATE webhooks
SET consecutive_failures = consecutive_failures + 1,
    status = CASE WHEN consecutive_failures + 1 >= %(failing_after)s
                  THEN 'failing' ELSE status END,
    last_failure_at = now()
WHERE id = (SELECT webhook_id FROM failed)
"""

DELIVERIES_PAGE = f"""
SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries
WHERE webhook_id = %(webhook_id)s
  AND (%(after_created_at)s::timestamptz IS NULL
       OR (created_at, id) < (%(after_created_at)s::timestamptz, %(after_id)s::uuid))
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
"""

COUNT_DELIVERIES = """
SELECT count(*) FROM webhook_deliveries WHERE webhook_id = %(webhook_id)s
"""

DELETE_FINISHED_DELIVERIES_BEFORE = """
DELETE FROM webhook_deliveries
WHERE id IN (
    SELECT id FROM webhook_deliveries
    WHERE status <> 'pending' AND created_at < %(before)s
    LIMIT %(batch)s
)
"""


async def insert_webhook(
    conn: Connection,
    *,
    url: str,
    event_types: list[str],
    filter: dict[str, Any],
    secret: str,
    created_by: UUID,
) -> WebhookRow:
    async with conn.cursor(row_factory=class_row(WebhookRow)) as cur:
        await cur.execute(
            INSERT_WEBHOOK,
            {
                "url": url,
                "event_types": event_types,
                "filter": Jsonb(filter),
                "secret": secret,
                "created_by": created_by,
            },
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def webhook_by_id(conn: Connection, webhook_id: UUID) -> WebhookRow | None:
    async with conn.cursor(row_factory=class_row(WebhookRow)) as cur:
        await cur.execute(WEBHOOK_BY_ID, {"id": webhook_id})
        return await cur.fetchone()


async def webhooks_of(conn: Connection, created_by: UUID | None, *, limit: int) -> list[WebhookRow]:
    """The webhooks an agent created (every webhook when `created_by` is None)."""
    async with conn.cursor(row_factory=class_row(WebhookRow)) as cur:
        await cur.execute(WEBHOOKS_OF, {"created_by": created_by, "limit": limit})
        return await cur.fetchall()


async def delete_webhook(conn: Connection, webhook_id: UUID) -> bool:
    cur = await conn.execute(DELETE_WEBHOOK, {"id": webhook_id})
    return cur.rowcount > 0


async def lock_webhooks_for_fanout(conn: Connection, *, limit: int) -> list[WebhookRow]:
    """Webhooks behind the outbox, locked for this transaction; call inside one."""
    async with conn.cursor(row_factory=class_row(WebhookRow)) as cur:
        await cur.execute(LOCK_WEBHOOKS_FOR_FANOUT, {"limit": limit})
        return await cur.fetchall()


async def insert_deliveries(conn: Connection, deliveries: Sequence[NewDelivery]) -> None:
    if not deliveries:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            INSERT_DELIVERY,
            [
                {
                    "webhook_id": d.webhook_id,
                    "event_id": d.event_id,
                    "event_type": d.event_type,
                    "body": d.body,
                }
                for d in deliveries
            ],
        )


async def advance_cursor(conn: Connection, webhook_id: UUID, last_event_id: int) -> None:
    await conn.execute(ADVANCE_CURSOR, {"id": webhook_id, "last_event_id": last_event_id})


async def claim_due_deliveries(
    conn: Connection, *, limit: int, lease_seconds: float
) -> list[DueDelivery]:
    async with conn.cursor(row_factory=class_row(DueDelivery)) as cur:
        await cur.execute(CLAIM_DUE_DELIVERIES, {"limit": limit, "lease_seconds": lease_seconds})
        return await cur.fetchall()


async def record_success(conn: Connection, delivery_id: UUID, status_code: int) -> None:
    await conn.execute(RECORD_SUCCESS, {"id": delivery_id, "status_code": status_code})


async def record_failure(
    conn: Connection,
    delivery_id: UUID,
    *,
    status_code: int | None,
    error: str,
    retry_in: float | None,
) -> None:
    """A failed attempt; `retry_in` None means the delivery gives up."""
    await conn.execute(
        RECORD_FAILURE,
        {
            "id": delivery_id,
            "status_code": status_code,
            "error": error[:500],
            "retry_in": retry_in,
            "failing_after": FAILING_AFTER,
        },
    )


async def deliveries_page(
    conn: Connection,
    webhook_id: UUID,
    *,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[WebhookDeliveryRow]:
    """A webhook's deliveries, newest first, after a (created_at, id) keyset position."""
    async with conn.cursor(row_factory=class_row(WebhookDeliveryRow)) as cur:
        await cur.execute(
            DELIVERIES_PAGE,
            {
                "webhook_id": webhook_id,
                "after_created_at": after[0] if after else None,
                "after_id": after[1] if after else None,
                "limit": limit,
            },
        )
        return await cur.fetchall()


async def count_deliveries(conn: Connection, webhook_id: UUID) -> int:
    cur = await conn.execute(COUNT_DELIVERIES, {"webhook_id": webhook_id})
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def delete_finished_deliveries_before(
    conn: Connection, before: datetime, *, batch: int
) -> int:
    cur = await conn.execute(DELETE_FINISHED_DELIVERIES_BEFORE, {"before": before, "batch": batch})
    return cur.rowcount
