"""The namespaces table: a hierarchy addressed by dotted paths (`biology.immunology`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import errors
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection

MAX_NAMESPACE_DEPTH = 32


@dataclass(frozen=True)
class NamespaceRow:
    id: UUID
    name: str
    parent_id: UUID | None
    path: str
    description: str | None
    attrs: dict[str, Any]
    created_at: datetime


# The tree is small (hundreds of rows, not millions) and bounded in depth, so each
# lookup walks it whole rather than keeping a materialized path column in step.
NAMESPACE_TREE = f"""
WITH RECURSIVE tree AS (
    SELECT id, name, parent_id, name AS path, description, attrs, created_at, 1 AS depth
    FROM namespaces
    WHERE parent_id IS NULL
  UNION ALL
    SELECT n.id, n.name, n.parent_id, tree.path || '.' || n.name, n.description,
           n.attrs, n.created_at, tree.depth + 1
    FROM namespaces n
    JOIN tree ON n.parent_id = tree.id
    WHERE tree.depth < {MAX_NAMESPACE_DEPTH}
)
"""

ALL_NAMESPACES = (
    NAMESPACE_TREE
    + """
SELECT id, name, parent_id, path, description, attrs, created_at
FROM tree
ORDER BY path
"""
)

NAMESPACES_BY_PATH = (
    NAMESPACE_TREE
    + """
SELECT id, name, parent_id, path, description, attrs, created_at
FROM tree
WHERE path = ANY(%(paths)s)
"""
)

NAMESPACES_BY_ID = (
    NAMESPACE_TREE
    + """
SELECT id, name, parent_id, path, description, attrs, created_at
FROM tree
WHERE id = ANY(%(ids)s)
"""
)

INSERT_NAMESPACE = """
INSERT INTO namespaces (name, parent_id, description, attrs)
VALUES (%(name)s, %(parent_id)s, %(description)s, %(attrs)s)
RETURNING id
"""


class NamespaceExists(Exception):
    """A namespace with that name already exists under that parent."""


async def all_namespaces(conn: Connection) -> list[NamespaceRow]:
    async with conn.cursor(row_factory=class_row(NamespaceRow)) as cur:
        await cur.execute(ALL_NAMESPACES)
        return await cur.fetchall()


async def namespaces_by_path(conn: Connection, paths: list[str]) -> dict[str, NamespaceRow]:
    async with conn.cursor(row_factory=class_row(NamespaceRow)) as cur:
        await cur.execute(NAMESPACES_BY_PATH, {"paths": paths})
        return {row.path: row for row in await cur.fetchall()}


async def namespaces_by_id(conn: Connection, ids: list[UUID]) -> dict[UUID, NamespaceRow]:
    async with conn.cursor(row_factory=class_row(NamespaceRow)) as cur:
        await cur.execute(NAMESPACES_BY_ID, {"ids": ids})
        return {row.id: row for row in await cur.fetchall()}


async def insert_namespace(
    conn: Connection,
    *,
    name: str,
    parent_id: UUID | None,
    description: str | None,
    attrs: dict[str, Any],
) -> UUID:
    """Insert one namespace; raises `NamespaceExists` when the parent already has it."""
    try:
        async with conn.transaction():
            cur = await conn.execute(
                INSERT_NAMESPACE,
                {
                    "name": name,
                    "parent_id": parent_id,
                    "description": description,
                    "attrs": Jsonb(attrs),
                },
            )
            row = await cur.fetchone()
    except errors.UniqueViolation:
        raise NamespaceExists(name) from None
    assert row is not None
    return UUID(str(row[0]))
