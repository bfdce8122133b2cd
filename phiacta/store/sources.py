"""The sources table: papers, datasets, recordings and other origins of claims."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


def identifiers_of(source: str) -> str:
    """Every identifier of the source row `source` (a constant alias of the calling
    statement), oldest first, as a text array."""
    return f"""ARRAY(
        SELECT si.identifier FROM source_identifiers si
        WHERE si.source_id = {source}.id
        ORDER BY si.created_at, si.identifier
    )"""


SOURCE_COLUMNS = f"""
    s.id, s.source_type, s.title, s.external_ref, s.content_hash, s.submitted_by,
    s.attrs, s.created_at, {identifiers_of("s")} AS identifiers
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
        # Callers pass the canonical spelling: any identifier of the source matches.
        conditions.append(
            "EXISTS (SELECT 1 FROM source_identifiers si"
            " WHERE si.source_id = s.id AND si.identifier = %(external_ref)s)"
        )
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

# The claim an identifier resolves to: the first claim (in submission order) of the
# source carrying it. Claim ids of one bundle ascend in submission order and share
# created_at, so (created_at, id) is that order.
FIRST_CLAIM_OF_REFERENCES = """
SELECT si.identifier, first.claim_id
FROM source_identifiers si
CROSS JOIN LATERAL (
    SELECT c.id AS claim_id
    FROM provenance p
    JOIN claims c ON c.id = p.claim_id
    WHERE p.source_id = si.source_id
    ORDER BY c.created_at, c.id
    LIMIT 1
) first
WHERE si.identifier = ANY(%(refs)s::text[])
"""

# Serializes writers naming one identifier until their transactions end, so two bundles
# bringing the same new DOI at once make one source, not two. Sorted: no deadlock.
LOCK_IDENTIFIERS = """
SELECT pg_advisory_xact_lock(hashtextextended('source-identifier/' || r.identifier, 0))
FROM unnest(%(identifiers)s::text[]) AS r(identifier)
ORDER BY r.identifier
"""

SOURCE_OF_IDENTIFIERS = """
SELECT si.source_id
FROM source_identifiers si
JOIN sources s ON s.id = si.source_id
WHERE si.identifier = ANY(%(identifiers)s::text[])
ORDER BY s.created_at, s.id
LIMIT 1
"""

INSERT_IDENTIFIERS = """
INSERT INTO source_identifiers (identifier, source_id)
SELECT r.identifier, %(source_id)s
FROM unnest(%(identifiers)s::text[]) AS r(identifier)
ON CONFLICT (identifier) DO NOTHING
RETURNING identifier
"""

# Per identifier, the (oldest) source known by it.
SOURCES_OF_EACH_IDENTIFIER = """
SELECT DISTINCT ON (si.identifier) si.identifier, si.source_id
FROM source_identifiers si
JOIN sources s ON s.id = si.source_id
WHERE si.identifier = ANY(%(identifiers)s::text[])
ORDER BY si.identifier, s.created_at, s.id
"""

INSERT_IDENTIFIER_PAIRS = """
INSERT INTO source_identifiers (identifier, source_id)
SELECT r.identifier, r.source_id
FROM unnest(%(identifiers)s::text[], %(source_ids)s::uuid[]) AS r(identifier, source_id)
ON CONFLICT (identifier) DO NOTHING
"""

IDENTIFIERS_OF_SOURCE = """
SELECT identifier FROM source_identifiers WHERE source_id = %(source_id)s ORDER BY identifier
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


async def lock_identifiers(conn: Connection, identifiers: Sequence[str]) -> None:
    """Hold every writer naming one of these identifiers until this transaction ends."""
    if identifiers:
        await conn.execute(LOCK_IDENTIFIERS, {"identifiers": sorted(set(identifiers))})


async def source_of_identifiers(conn: Connection, identifiers: Sequence[str]) -> UUID | None:
    """The (oldest) source known by any of these canonical identifiers, or None."""
    if not identifiers:
        return None
    cur = await conn.execute(SOURCE_OF_IDENTIFIERS, {"identifiers": list(identifiers)})
    row = await cur.fetchone()
    return UUID(str(row[0])) if row else None


async def add_identifiers(
    conn: Connection, source_id: UUID, identifiers: Sequence[str]
) -> list[str]:
    """Give the source those of these identifiers no source has yet; the ones it got."""
    if not identifiers:
        return []
    cur = await conn.execute(
        INSERT_IDENTIFIERS, {"source_id": source_id, "identifiers": list(identifiers)}
    )
    return [str(row[0]) for row in await cur.fetchall()]


async def sources_of_each_identifier(
    conn: Connection, identifiers: Sequence[str]
) -> dict[str, UUID]:
    """For each of these canonical identifiers some source has, that source."""
    if not identifiers:
        return {}
    cur = await conn.execute(SOURCES_OF_EACH_IDENTIFIER, {"identifiers": list(identifiers)})
    return {str(row[0]): UUID(str(row[1])) for row in await cur.fetchall()}


async def add_identifier_pairs(conn: Connection, pairs: Sequence[tuple[str, UUID]]) -> None:
    """Give each (identifier, source) pair's source its identifier, unless some source
    has it already."""
    if pairs:
        await conn.execute(
            INSERT_IDENTIFIER_PAIRS,
            {"identifiers": [i for i, _ in pairs], "source_ids": [s for _, s in pairs]},
        )


async def identifiers_of_source(conn: Connection, source_id: UUID) -> list[str]:
    cur = await conn.execute(IDENTIFIERS_OF_SOURCE, {"source_id": source_id})
    return [str(row[0]) for row in await cur.fetchall()]


@dataclass(frozen=True)
class NewSource:
    id: UUID
    source_type: str
    title: str | None
    external_ref: str | None
    content_hash: str | None
    submitted_by: UUID
    attrs: dict[str, Any]
    # Canonical, the external reference first when there is one.
    identifiers: tuple[str, ...] = ()


async def find_or_insert_source(conn: Connection, source: NewSource) -> tuple[UUID, bool]:
    """The source known by any of `source.identifiers` (given those it lacked), else
    `source` inserted with them; and whether it was inserted. Call inside a
    transaction: concurrent writers naming one identifier queue on a lock until it ends,
    so they make one source."""
    await lock_identifiers(conn, source.identifiers)
    existing = await source_of_identifiers(conn, source.identifiers)
    if existing is not None:
        await add_identifiers(conn, existing, source.identifiers)
        return existing, False
    await insert_source(
        conn,
        id=source.id,
        source_type=source.source_type,
        title=source.title,
        external_ref=source.external_ref,
        content_hash=source.content_hash,
        submitted_by=source.submitted_by,
        attrs=source.attrs,
    )
    await add_identifiers(conn, source.id, source.identifiers)
    return source.id, True
