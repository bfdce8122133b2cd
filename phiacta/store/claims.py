"""The claims table: immutable versions of atomic scientific statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row

from phiacta.store import Connection


@dataclass(frozen=True)
class ClaimRow:
    id: UUID
    lineage_id: UUID
    version: int
    claim_type: str
    content: str
    formal_content: str | None
    namespace_id: UUID | None
    created_by: UUID | None
    supersedes: UUID | None
    status: str
    attrs: dict[str, Any]
    created_at: datetime
    is_latest: bool


# `is_latest` is computed, never stored: versions are immutable rows and a stored flag
# would have to be flipped on the old row in the same transaction as every revision.
CLAIM_COLUMNS = """
    c.id, c.lineage_id, c.version, c.claim_type, c.content, c.formal_content,
    c.namespace_id, c.created_by, c.supersedes, c.status, c.attrs, c.created_at,
    NOT EXISTS (
        SELECT 1 FROM claims newer
        WHERE newer.lineage_id = c.lineage_id AND newer.version > c.version
    ) AS is_latest
"""

CLAIMS_BY_ID = f"""
SELECT {CLAIM_COLUMNS}
FROM claims c
WHERE c.id = ANY(%(ids)s)
"""


async def claims_by_id(conn: Connection, ids: list[UUID]) -> dict[UUID, ClaimRow]:
    async with conn.cursor(row_factory=class_row(ClaimRow)) as cur:
        await cur.execute(CLAIMS_BY_ID, {"ids": ids})
        return {row.id: row for row in await cur.fetchall()}


async def claim_by_id(conn: Connection, claim_id: UUID) -> ClaimRow | None:
    return (await claims_by_id(conn, [claim_id])).get(claim_id)
