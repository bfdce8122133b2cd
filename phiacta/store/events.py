"""The events table: the transactional outbox.

An event is appended by the same transaction as the change it reports, so it exists
exactly when that change committed. The NOTIFY that wakes listeners is sent by the same
statement; PostgreSQL delivers notifications only on commit, and drops them on rollback.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.rows import EventRow

NOTIFY_CHANNEL = "phiacta_events"

# The payload of the notification is only the id: NOTIFY payloads are capped at 8000
# bytes, and listeners read the row itself from the outbox.
APPEND_EVENT = """
WITH inserted AS (
    INSERT INTO events (type, payload)
    VALUES (%(type)s, %(payload)s)
    RETURNING id
)
SELECT id, pg_notify(%(channel)s, id::text) FROM inserted
"""

EVENTS_AFTER = """
SELECT id, type, payload, created_at
FROM events
WHERE id > %(after)s
  AND (%(types)s::text[] IS NULL OR type = ANY(%(types)s::text[]))
ORDER BY id
LIMIT %(limit)s
"""


async def append_event(conn: Connection, event_type: str, payload: dict[str, Any]) -> int:
    """Append one event; call it inside the writing transaction."""
    cur = await conn.execute(
        APPEND_EVENT, {"type": event_type, "payload": Jsonb(payload), "channel": NOTIFY_CHANNEL}
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def events_after(
    conn: Connection, after: int, *, types: list[str] | None = None, limit: int = 1000
) -> list[EventRow]:
    """Events with id greater than `after`, oldest first, at most `limit`."""
    async with conn.cursor(row_factory=class_row(EventRow)) as cur:
        await cur.execute(EVENTS_AFTER, {"after": after, "types": types, "limit": limit})
        return await cur.fetchall()
