"""The edge_types table: the vocabulary of typed relations between claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row

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
