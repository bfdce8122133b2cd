"""The agents table: people, models, organizations, pipelines and extensions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import errors
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.rows import AgentRow

AGENT_COLUMNS = "id, agent_type, name, external_id, trust_score, attrs, created_at, owned_by"

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
INSERT INTO agents (agent_type, name, external_id, trust_score, attrs, owned_by)
VALUES (%(agent_type)s, %(name)s, %(external_id)s, %(trust_score)s, %(attrs)s, %(owned_by)s)
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


async def insert_extension(
    conn: Connection, *, manifest_id: str, name: str, manifest: dict[str, Any]
) -> AgentRow:
    """An extension's agent: its manifest id as external id, the manifest in attrs.
    Raises `ExtensionExists` when that id is registered."""
    return await insert_agent(
        conn,
        agent_type="extension",
        name=name,
        external_id=manifest_id,
        attrs={"manifest": manifest},
    )


AGENT_BY_EXTERNAL_ID = """
SELECT id FROM agents WHERE external_id = %(external_id)s ORDER BY created_at, id LIMIT 1
"""

LOCK_EXTERNAL_ID = """
SELECT pg_advisory_xact_lock(hashtextextended('agent-external-id/' || %(external_id)s, 0))
"""


async def agent_with_external_id(conn: Connection, external_id: str) -> UUID | None:
    """The oldest agent with this (canonical) external id, such as an ORCID iD."""
    cur = await conn.execute(AGENT_BY_EXTERNAL_ID, {"external_id": external_id})
    row = await cur.fetchone()
    return UUID(str(row[0])) if row else None


async def person_with_orcid(conn: Connection, orcid: str) -> UUID:
    """The agent whose external id is this canonical ORCID iD, a new `human` agent named
    by it when there is none. Call inside a transaction: concurrent callers with one
    ORCID queue on a lock until it ends, so they find one agent."""
    await conn.execute(LOCK_EXTERNAL_ID, {"external_id": orcid})
    found = await agent_with_external_id(conn, orcid)
    if found is not None:
        return found
    row = await insert_agent(conn, agent_type="human", name=orcid, external_id=orcid)
    return row.id


class ExtensionExists(Exception):
    """An extension agent with that manifest id is already registered."""


async def insert_agent(
    conn: Connection,
    *,
    agent_type: str,
    name: str,
    external_id: str | None = None,
    trust_score: float = 1.0,
    attrs: dict[str, Any] | None = None,
    owned_by: UUID | None = None,
) -> AgentRow:
    """Insert one agent; raises `ExtensionExists` for a second extension with one id."""
    try:
        async with conn.cursor(row_factory=class_row(AgentRow)) as cur:
            await cur.execute(
                INSERT_AGENT,
                {
                    "agent_type": agent_type,
                    "name": name,
                    "external_id": external_id,
                    "trust_score": trust_score,
                    "attrs": Jsonb(attrs or {}),
                    "owned_by": owned_by,
                },
            )
            row = await cur.fetchone()
    except errors.UniqueViolation as exc:
        if exc.diag.constraint_name == "ux_agents_extension_manifest_id":
            raise ExtensionExists(str((attrs or {}).get("manifest", {}).get("id"))) from None
        raise
    assert row is not None
    return row


# ---------------------------------------------------------------------------------------
# Reads: lists
# ---------------------------------------------------------------------------------------


async def list_agents(
    conn: Connection,
    *,
    agent_type: str | None,
    limit: int,
    after: tuple[datetime, UUID] | None,
) -> list[AgentRow]:
    """Agents in creation order, optionally of one type, strictly after the keyset."""
    where = "TRUE"
    params: dict[str, Any] = {"limit": limit}
    if agent_type is not None:
        where += " AND agent_type = %(agent_type)s"
        params["agent_type"] = agent_type
    if after is not None:
        where += " AND (created_at, id) > (%(after_at)s, %(after_id)s)"
        params |= {"after_at": after[0], "after_id": after[1]}
    query = f"""
SELECT {AGENT_COLUMNS}
FROM agents
WHERE {where}
ORDER BY created_at, id
LIMIT %(limit)s
"""
    async with conn.cursor(row_factory=class_row(AgentRow)) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def count_agents(conn: Connection, *, agent_type: str | None) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM agents WHERE %(agent_type)s::text IS NULL"
        " OR agent_type = %(agent_type)s",
        {"agent_type": agent_type},
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


EXTENSION_BY_MANIFEST_ID = f"""
SELECT {AGENT_COLUMNS}
FROM agents
WHERE agent_type = 'extension' AND attrs -> 'manifest' ->> 'id' = %(manifest_id)s
LIMIT 1
"""


async def extension_by_manifest_id(conn: Connection, manifest_id: str) -> AgentRow | None:
    """The extension agent registered under this manifest id, if any."""
    async with conn.cursor(row_factory=class_row(AgentRow)) as cur:
        await cur.execute(EXTENSION_BY_MANIFEST_ID, {"manifest_id": manifest_id})
        return await cur.fetchone()
