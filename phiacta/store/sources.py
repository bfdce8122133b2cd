"""The sources table: papers, datasets, recordings and other origins of claims."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.rows import SourceRow

# ---------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------

SOURCE_COLUMNS = """
    s.id, s.source_type, s.title, s.external_ref, s.content_hash, s.submitted_by,
    s.attrs, s.created_at
"""

SOURCES_BY_ID = f"""
SELECT {SOURCE_COLUMNS}
FROM sources s
WHERE s.id = ANY(%(ids)s)
"""


async def sources_by_id(conn: Connection, ids: Sequence[UUID]) -> dict[UUID, SourceRow]:
    async with conn.cursor(row_factory=class_row(SourceRow)) as cur:
        await cur.execute(SOURCES_BY_ID, {"ids": list(ids)})
        return {row.id: row for row in await cur.fetchall()}


def _source_conditions(
    source_type: str | None, external_ref: str | None
) -> tuple[str, dict[str, Any]]:
    conditions = ["TRUE"]
    params: dict[str, Any] = {}
    if source_type is not None:
        conditions.append("s.source_type = %(source_type)s")
        params["source_type"] = source_type
    if external_ref is not None:
        conditions.append("s.external_ref = %(external_ref)s")
        params["external_ref"] = external_ref
    return " AND ".join(conditions), params


async def list_sources(
    conn: Connection,
    *,
    source_type: str | None,
    external_ref: str | None,
    limit: int,
    after: tuple[datetime, UUID] | None,
) -> list[SourceRow]:
    where, params = _source_conditions(source_type, external_ref)
    if after is not None:
        where += " AND (s.created_at, s.id) > (%(after_at)s, %(after_id)s)"
        params |= {"after_at": after[0], "after_id": after[1]}
    query = f"""
SELECT {SOURCE_COLUMNS}
FROM sources s
WHERE {where}
ORDER BY s.created_at, s.id
LIMIT %(limit)s
"""
    async with conn.cursor(row_factory=class_row(SourceRow)) as cur:
        await cur.execute(query, params | {"limit": limit})
        return await cur.fetchall()


async def count_sources(
    conn: Connection, *, source_type: str | None, external_ref: str | None
) -> int:
    where, params = _source_conditions(source_type, external_ref)
    cur = await conn.execute(f"SELECT count(*) FROM sources s WHERE {where}", params)
    row = await cur.fetchone()
    return int(row[0]) if row else 0


# ---------------------------------------------------------------------------------------
# Writes, and the lookups the write path needs
# ---------------------------------------------------------------------------------------

INSERT_SOURCE = f"""
INSERT INTO sources AS s (id, source_type, title, external_ref, content_hash, submitted_by,
                          attrs)
VALUES (%(id)s, %(source_type)s, %(title)s, %(external_ref)s, %(content_hash)s,
        %(submitted_by)s, %(attrs)s)
RETURNING {SOURCE_COLUMNS}
"""

# The claim an external reference resolves to: the first claim (in submission order) of
# the oldest source carrying that reference. Claim ids of one bundle ascend in submission
# order and share created_at, so (created_at, id) is that order.
FIRST_CLAIM_OF_REFERENCES = """
SELECT r.ref, first.claim_id
FROM unnest(%(refs)s::text[]) AS r(ref)
CROSS JOIN LATERAL (
    SELECT c.id AS claim_id
    FROM sources s
    JOIN provenance p ON p.source_id = s.id
    JOIN claims c ON c.id = p.claim_id
    WHERE s.external_ref = r.ref
    ORDER BY s.created_at, c.created_at, c.id
    LIMIT 1
) first
"""


async def insert_source(
    conn: Connection,
    *,
    id: UUID,
    source_type: str,
    title: str | None,
    external_ref: str | None,
    content_hash: str | None,
    submitted_by: UUID,
    attrs: dict[str, Any],
) -> SourceRow:
    async with conn.cursor(row_factory=class_row(SourceRow)) as cur:
        await cur.execute(
            INSERT_SOURCE,
            {
                "id": id,
                "source_type": source_type,
                "title": title,
                "external_ref": external_ref,
                "content_hash": content_hash,
                "submitted_by": submitted_by,
                "attrs": Jsonb(attrs),
            },
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def first_claims_of_references(conn: Connection, refs: Sequence[str]) -> dict[str, UUID]:
    """For each external reference already in the graph, the claim it resolves to."""
    if not refs:
        return {}
    cur = await conn.execute(FIRST_CLAIM_OF_REFERENCES, {"refs": list(refs)})
    return {str(row[0]): UUID(str(row[1])) for row in await cur.fetchall()}
