"""The api_keys table: hashed keys, their scopes, expiry, revocation and last use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.events import EventType
from phiacta.store import Connection
from phiacta.store.events import append_event


@dataclass(frozen=True)
class ApiKeyRow:
    id: UUID
    agent_id: UUID
    name: str | None
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    rate_limits: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class KeyWithAgent:
    """A key joined with its agent, as authentication needs it."""

    id: UUID
    hash: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    rate_limits: dict[str, Any]
    agent_id: UUID
    agent_type: str
    agent_name: str
    agent_attrs: dict[str, Any]


KEY_COLUMNS = """
    id, agent_id, name, prefix, scopes, expires_at, revoked_at, last_used_at, rate_limits,
    created_at
"""

INSERT_API_KEY = f"""
INSERT INTO api_keys (agent_id, name, prefix, hash, scopes, expires_at, rate_limits)
VALUES (%(agent_id)s, %(name)s, %(prefix)s, %(hash)s, %(scopes)s, %(expires_at)s,
        %(rate_limits)s)
RETURNING {KEY_COLUMNS}
"""

KEY_WITH_AGENT_BY_PREFIX = """
SELECT k.id, k.hash, k.prefix, k.scopes, k.expires_at, k.revoked_at, k.rate_limits,
       a.id AS agent_id, a.agent_type, a.name AS agent_name, a.attrs AS agent_attrs
FROM api_keys k
JOIN agents a ON a.id = k.agent_id
WHERE k.prefix = %(prefix)s
"""

# Checked on every authenticated request, cache hit or not: revocation and expiry take
# effect on the next request on every replica without any cross-process signalling.
KEY_IS_USABLE = """
SELECT revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
FROM api_keys
WHERE id = %(id)s
"""

TOUCH_LAST_USED = """
UPDATE api_keys SET last_used_at = now() WHERE id = %(id)s
"""

REVOKE_API_KEY = f"""
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE id = %(id)s
RETURNING {KEY_COLUMNS}
"""

API_KEY_BY_ID = f"""
SELECT {KEY_COLUMNS} FROM api_keys WHERE id = %(id)s
"""

API_KEYS_OF_AGENT = f"""
SELECT {KEY_COLUMNS}
FROM api_keys
WHERE (%(agent_id)s::uuid IS NULL OR agent_id = %(agent_id)s::uuid)
ORDER BY created_at DESC, id
LIMIT %(limit)s
"""


async def insert_api_key(
    conn: Connection,
    *,
    agent_id: UUID,
    name: str | None,
    prefix: str,
    hash: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    rate_limits: dict[str, Any] | None = None,
) -> ApiKeyRow:
    async with conn.cursor(row_factory=class_row(ApiKeyRow)) as cur:
        await cur.execute(
            INSERT_API_KEY,
            {
                "agent_id": agent_id,
                "name": name,
                "prefix": prefix,
                "hash": hash,
                "scopes": scopes,
                "expires_at": expires_at,
                "rate_limits": Jsonb(rate_limits or {}),
            },
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def key_with_agent(conn: Connection, prefix: str) -> KeyWithAgent | None:
    async with conn.cursor(row_factory=class_row(KeyWithAgent)) as cur:
        await cur.execute(KEY_WITH_AGENT_BY_PREFIX, {"prefix": prefix})
        return await cur.fetchone()


async def key_is_usable(conn: Connection, key_id: UUID) -> bool:
    row = await (await conn.execute(KEY_IS_USABLE, {"id": key_id})).fetchone()
    return bool(row and row[0])


async def touch_last_used(conn: Connection, key_id: UUID) -> None:
    await conn.execute(TOUCH_LAST_USED, {"id": key_id})


async def revoke_api_key(conn: Connection, key_id: UUID) -> ApiKeyRow | None:
    """Revoke the key, and tell every replica (an `api_key_revoked` event in the same
    transaction) so they close its open sockets."""
    async with conn.transaction(), conn.cursor(row_factory=class_row(ApiKeyRow)) as cur:
        await cur.execute(REVOKE_API_KEY, {"id": key_id})
        row = await cur.fetchone()
        if row is not None:
            await append_event(conn, EventType.API_KEY_REVOKED, {"key_id": str(key_id)})
        return row


async def api_key_by_id(conn: Connection, key_id: UUID) -> ApiKeyRow | None:
    async with conn.cursor(row_factory=class_row(ApiKeyRow)) as cur:
        await cur.execute(API_KEY_BY_ID, {"id": key_id})
        return await cur.fetchone()


async def api_keys(
    conn: Connection, *, agent_id: UUID | None = None, limit: int = 1000
) -> list[ApiKeyRow]:
    async with conn.cursor(row_factory=class_row(ApiKeyRow)) as cur:
        await cur.execute(API_KEYS_OF_AGENT, {"agent_id": agent_id, "limit": limit})
        return await cur.fetchall()
