"""The edge_types table: the vocabulary of typed relations between claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import errors
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection


@dataclass(frozen=True)
class EdgeTypeRow:
    name: str
    description: str | None
    inverse_name: str | None
    is_transitive: bool
    is_symmetric: bool
    is_anti_reflexive: bool
    category: str
    attrs: dict[str, Any]
    created_at: datetime


_COLUMNS = """
    name, description, inverse_name, is_transitive, is_symmetric, is_anti_reflexive,
    category, attrs, created_at
"""

ALL_EDGE_TYPES = f"""
SELECT {_COLUMNS}
FROM edge_types
ORDER BY category, name
"""

EDGE_TYPES_BY_NAME = f"""
SELECT {_COLUMNS}
FROM edge_types
WHERE name = ANY(%(names)s)
"""


async def all_edge_types(conn: Connection) -> list[EdgeTypeRow]:
    async with conn.cursor(row_factory=class_row(EdgeTypeRow)) as cur:
        await cur.execute(ALL_EDGE_TYPES)
        return await cur.fetchall()


async def edge_types_by_name(conn: Connection, names: list[str]) -> dict[str, EdgeTypeRow]:
    async with conn.cursor(row_factory=class_row(EdgeTypeRow)) as cur:
        await cur.execute(EDGE_TYPES_BY_NAME, {"names": names})
        return {row.name: row for row in await cur.fetchall()}


# ---------------------------------------------------------------------------------------
# Writes (the write path)
# ---------------------------------------------------------------------------------------


class EdgeTypeExists(Exception):
    """An edge type with that name already exists."""


INSERT_EDGE_TYPE = f"""
INSERT INTO edge_types (name, description, inverse_name, is_transitive, is_symmetric,
                        is_anti_reflexive, category, attrs)
VALUES (%(name)s, %(description)s, %(inverse_name)s, %(is_transitive)s, %(is_symmetric)s,
        %(is_anti_reflexive)s, %(category)s, %(attrs)s)
RETURNING {_COLUMNS}
"""


async def insert_edge_type(conn: Connection, row: EdgeTypeRow) -> EdgeTypeRow:
    """Insert one edge type (its `created_at` is ignored); raises `EdgeTypeExists`."""
    try:
        async with conn.transaction(), conn.cursor(row_factory=class_row(EdgeTypeRow)) as cur:
            await cur.execute(
                INSERT_EDGE_TYPE,
                {
                    "name": row.name,
                    "description": row.description,
                    "inverse_name": row.inverse_name,
                    "is_transitive": row.is_transitive,
                    "is_symmetric": row.is_symmetric,
                    "is_anti_reflexive": row.is_anti_reflexive,
                    "category": row.category,
                    "attrs": Jsonb(row.attrs),
                },
            )
            inserted = await cur.fetchone()
    except errors.UniqueViolation:
        raise EdgeTypeExists(row.name) from None
    assert inserted is not None
    return inserted
