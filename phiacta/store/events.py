"""The events table: the transactional outbox.

An event is appended by the same transaction as the change it reports, so it exists
exactly when that change committed. The NOTIFY that wakes listeners is sent by the same
statement; PostgreSQL delivers notifications only on commit, and drops them on rollback.

Guarantee for readers: event ids become visible in increasing order. Once a reader has
seen event `n`, no event with an id below `n` can commit later, so "everything after the
last id I saw" is a complete, duplicate-free cursor (see `APPEND_EVENT` for why).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.rows import EventRow

NOTIFY_CHANNEL = "phiacta_events"

# Any constant works; it only has to be the same for every writer of one database.
EVENT_ORDER_LOCK_ID = 7_368_120_006

# Trap: a bigserial id is taken when the row is inserted, not when the transaction
# commits. Two writers can take ids 41 and 42 and commit 42 first; a reader that saw 42
# and then asks for `id > 42` would never see 41. So every writer takes a
# transaction-scoped advisory lock before it draws its first id and holds it to commit:
# the writer that draws later ids can only start drawing after the earlier writer has
# committed or rolled back (PostgreSQL makes a commit visible before it releases the
# transaction's locks). Ids are therefore committed in order; rolled-back ids are holes
# that never fill. The lock is re-entrant and is held only from the transaction's first
# event to its commit, so writers should append their events after their other writes.
#
# The lock is taken by the CTE the INSERT selects from, so it is held before nextval()
# runs. The notification payload is only the id: NOTIFY payloads are capped at 8000
# bytes, and listeners read the row itself from the outbox.
APPEND_EVENT = """
WITH ordered AS (
    SELECT pg_advisory_xact_lock(%(lock)s)
),
inserted AS (
    INSERT INTO events (type, payload)
    SELECT %(type)s, %(payload)s FROM ordered
    RETURNING id
)
SELECT id, pg_notify(%(channel)s, id::text) FROM inserted
"""

EVENTS_AFTER = """
SELECT id, type, payload, created_at
FROM events
WHERE id > %(after)s
  AND (%(until)s::bigint IS NULL OR id <= %(until)s::bigint)
  AND (%(types)s::text[] IS NULL OR type = ANY(%(types)s::text[]))
ORDER BY id
LIMIT %(limit)s
"""

LAST_EVENT_ID = """
SELECT coalesce(max(id), 0) FROM events
"""

# Bounded so a prune after a long pause never holds one huge delete; the caller loops.
DELETE_EVENTS_BEFORE = """
DELETE FROM events
WHERE id IN (
    SELECT id FROM events
    WHERE created_at < %(before)s
    ORDER BY id
    LIMIT %(batch)s
)
"""


async def append_event(conn: Connection, event_type: str, payload: dict[str, Any]) -> int:
    """Append one event; call it inside the writing transaction, after its other writes."""
    cur = await conn.execute(
        APPEND_EVENT,
        {
            "lock": EVENT_ORDER_LOCK_ID,
            "type": event_type,
            "payload": Jsonb(payload),
            "channel": NOTIFY_CHANNEL,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def events_after(
    conn: Connection,
    after: int,
    *,
    types: list[str] | None = None,
    limit: int = 1000,
    until: int | None = None,
) -> list[EventRow]:
    """Events with `after < id <= until` (no upper bound by default), oldest first, at
    most `limit`."""
    async with conn.cursor(row_factory=class_row(EventRow)) as cur:
        await cur.execute(
            EVENTS_AFTER, {"after": after, "until": until, "types": types, "limit": limit}
        )
        return await cur.fetchall()


async def last_event_id(conn: Connection) -> int:
    """The newest committed event id, or 0 for an empty outbox."""
    cur = await conn.execute(LAST_EVENT_ID)
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def delete_events_before(conn: Connection, before: datetime, *, batch: int) -> int:
    """Delete at most `batch` of the oldest events created before `before`; the count."""
    cur = await conn.execute(DELETE_EVENTS_BEFORE, {"before": before, "batch": batch})
    return cur.rowcount


# ---------------------------------------------------------------------------------------
# Writes: many events at once (the write path appends hundreds per bundle)
# ---------------------------------------------------------------------------------------

# Same ordering lock as APPEND_EVENT; ids are drawn in the order the events are given.
APPEND_EVENTS = """
WITH ordered AS (
    SELECT pg_advisory_xact_lock(%(lock)s)
),
inserted AS (
    INSERT INTO events (type, payload)
    SELECT e.type, e.payload
    FROM ordered,
        ROWS FROM (unnest(%(types)b::text[]), jsonb_array_elements(%(payloads)b::jsonb))
        WITH ORDINALITY AS e(type, payload, position)
    ORDER BY e.position
    RETURNING id
),
-- One notification for the whole batch, naming its newest id: listeners read every
-- event after the last one they saw, so a notification per event only adds queue work.
notified AS (
    SELECT pg_notify(%(channel)s, max(id)::text) FROM inserted
)
SELECT inserted.id FROM inserted, notified ORDER BY inserted.id
"""


async def append_events(
    conn: Connection, events: Sequence[tuple[str, dict[str, Any]]]
) -> list[int]:
    """Append several events in one statement; call it inside the writing transaction,
    after its other writes. Returns their ids in the given order."""
    if not events:
        return []
    cur = await conn.execute(
        APPEND_EVENTS,
        {
            "lock": EVENT_ORDER_LOCK_ID,
            "types": [event_type for event_type, _ in events],
            "payloads": Jsonb([payload for _, payload in events]),
            "channel": NOTIFY_CHANNEL,
        },
    )
    return [int(row[0]) for row in await cur.fetchall()]


# Lives here rather than in claims.py because only live filters need it: one indexed
# primary-key probe per candidate event, compared with every similarTo text at once.
CLAIM_SIMILARITIES = """
SELECT q.ord, 1 - (c.embedding <=> q.vector::vector)
FROM claims c
CROSS JOIN unnest(%(vectors)s::text[]) WITH ORDINALITY AS q(vector, ord)
WHERE c.id = %(claim_id)s AND c.embedding IS NOT NULL
"""


async def claim_similarities(
    conn: Connection, claim_id: UUID, vectors: list[list[float]]
) -> list[float | None]:
    """Cosine similarity of a claim's stored embedding to each of `vectors` (one query;
    the caller bounds how many), in their order; all None when it has no embedding."""
    cur = await conn.execute(
        CLAIM_SIMILARITIES, {"claim_id": claim_id, "vectors": [str(v) for v in vectors]}
    )
    found = {int(ordinal): float(value) for ordinal, value in await cur.fetchall()}
    return [found.get(i) for i in range(1, len(vectors) + 1)]
