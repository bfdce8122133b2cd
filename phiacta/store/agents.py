"""The agents table: people, models, organizations, pipelines and extensions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.rows import AgentRow

AGENT_COLUMNS = "id, agent_type, name, external_id, trust_score, attrs, created_at"

AGENTS_BY_ID = f"""
SELECT {AGENT_COLUMNS}
FROM agents
WHERE id = ANY(%(ids)s)
"""

AGENTS_BY_NAME = f"""
SELECT {AGENT_COLUMNS}
FROM agents
WHERE name = %(name)s
ORDER BY created_at
LIMIT 2
"""

INSERT_AGENT = f"""
INSERT INTO agents (agent_type, name, external_id, trust_score, attrs)
VALUES (%(agent_type)s, %(name)s, %(external_id)s, %(trust_score)s, %(attrs)s)
RETURNING {AGENT_COLUMNS}
"""


async def agents_by_id(conn: Connection, ids: list[UUID]) -> dict[UUID, AgentRow]:
    async with conn.cursor(row_factory=class_row(AgentRow)) as cur:
        await cur.execute(AGENTS_BY_ID, {"ids": ids})
        return {row.id: row for row in await cur.fetchall()}


async def agents_named(conn: Connection, name: str) -> list[AgentRow]:
    """At most two agents with this exact name (two means the name is ambiguous)."""
    async with conn.cursor(row_factory=class_row(AgentRow)) as cur:
        await cur.execute(AGENTS_BY_NAME, {"name": name})
        return await cur.fetchall()


async def insert_agent(
    conn: Connection,
    *,
    agent_type: str,
    name: str,
    external_id: str | None = None,
    trust_score: float = 1.0,
    attrs: dict[str, Any] | None = None,
) -> AgentRow:
    async with conn.cursor(row_factory=class_row(AgentRow)) as cur:
        await cur.execute(
            INSERT_AGENT,
            {
                "agent_type": agent_type,
                "name": name,
                "external_id": external_id,
                "trust_score": trust_score,
                "attrs": Jsonb(attrs or {}),
            },
        )
        row = await cur.fetchone()
    assert row is not None
    return row
