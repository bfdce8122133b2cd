"""The bundles table: atomic submissions and the responses they returned."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.rows import BundleRow

# ---------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------

BUNDLE_COLUMNS = """
    b.id, b.idempotency_key, b.submitted_by, b.extension_id, b.contributor_id, b.source_id,
    b.status, b.claim_count, b.edge_count, b.artifact_count, b.attrs, b.submitted_at
"""

BUNDLES_BY_ID = f"""
SELECT {BUNDLE_COLUMNS}
FROM bundles b
WHERE b.id = ANY(%(ids)s)
"""


async def bundles_by_id(conn: Connection, ids: Sequence[UUID]) -> dict[UUID, BundleRow]:
    async with conn.cursor(row_factory=class_row(BundleRow)) as cur:
        await cur.execute(BUNDLES_BY_ID, {"ids": list(ids)})
        return {row.id: row for row in await cur.fetchall()}


def _bundle_conditions(
    submitted_by: UUID | None, status: str | None, idempotency_key: str | None = None
) -> tuple[str, dict[str, Any]]:
    conditions = ["TRUE"]
    params: dict[str, Any] = {}
    if idempotency_key is not None:
        conditions.append("b.idempotency_key = %(idempotency_key)s")
        params["idempotency_key"] = idempotency_key
    if submitted_by is not None:
        conditions.append("b.submitted_by = %(submitted_by)s")
        params["submitted_by"] = submitted_by
    if status is not None:
        conditions.append("b.status = %(status)s")
        params["status"] = status
    return " AND ".join(conditions), params


async def list_bundles(
    conn: Connection,
    *,
    submitted_by: UUID | None,
    status: str | None,
    limit: int,
    after: tuple[datetime, UUID] | None,
    idempotency_key: str | None = None,
) -> list[BundleRow]:
    """Newest first: the usual question is "what arrived lately"."""
    where, params = _bundle_conditions(submitted_by, status, idempotency_key)
    if after is not None:
        where += " AND (b.submitted_at, b.id) < (%(after_at)s, %(after_id)s)"
        params |= {"after_at": after[0], "after_id": after[1]}
    query = f"""
SELECT {BUNDLE_COLUMNS}
FROM bundles b
WHERE {where}
ORDER BY b.submitted_at DESC, b.id DESC
LIMIT %(limit)s
"""
    async with conn.cursor(row_factory=class_row(BundleRow)) as cur:
        await cur.execute(query, params | {"limit": limit})
        return await cur.fetchall()


async def count_bundles(
    conn: Connection,
    *,
    submitted_by: UUID | None,
    status: str | None,
    idempotency_key: str | None = None,
) -> int:
    where, params = _bundle_conditions(submitted_by, status, idempotency_key)
    cur = await conn.execute(f"SELECT count(*) FROM bundles b WHERE {where}", params)
    row = await cur.fetchone()
    return int(row[0]) if row else 0


# ---------------------------------------------------------------------------------------
# Writes: idempotent submission (the write path)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredSubmission:
    """What a key already produced: the hash of the body it was sent with and the
    response it returned."""

    id: UUID
    request_hash: str
    status: str
    response: dict[str, Any] | None


# Concurrent submissions of one key queue on this lock; each then finds the winner's
# committed bundle row. A transaction-scoped lock is released by commit or rollback, and
# by the server when the connection dies, so a crashed submitter never blocks a retry.
# The lock statement runs under the longer timeout set here (for this transaction
# only), then puts the usual one back.
WAIT_FOR_LOCK = """
SELECT current_setting('statement_timeout'), set_config('statement_timeout', %(wait)s, true)
"""

LOCK_IDEMPOTENCY_KEY = """
SELECT pg_advisory_xact_lock(hashtextextended(%(agent)s::text || '/' || %(key)s, 0)),
       set_config('statement_timeout', %(statement_timeout)s, true)
"""

# Any agent's accepted bundle of a key: extensions derive keys from the content and
# their version, so this is "was this document already ingested by this extension".
ACCEPTED_SUBMISSION_OF_KEY = """
SELECT id, request_hash, status, response
FROM bundles
WHERE idempotency_key = %(key)s AND status = 'accepted'
ORDER BY submitted_at, id
LIMIT 1
"""

SUBMISSION_BY_KEY = """
SELECT id, request_hash, status, response
FROM bundles
WHERE submitted_by = %(submitted_by)s AND idempotency_key = %(key)s
"""

INSERT_BUNDLE = """
INSERT INTO bundles (id, idempotency_key, submitted_by, extension_id, contributor_id,
                     source_id, status, request_hash, attrs)
VALUES (%(id)s, %(key)s, %(submitted_by)s, %(extension_id)s, %(contributor_id)s,
        %(source_id)s, 'processing', %(request_hash)s, %(attrs)s)
"""

ACCEPT_BUNDLE = """
UPDATE bundles
SET status = 'accepted', claim_count = %(claim_count)s, edge_count = %(edge_count)s,
    artifact_count = %(artifact_count)s, response = %(response)s
WHERE id = %(id)s
"""


async def lock_idempotency_key(
    conn: Connection, submitted_by: UUID, key: str, wait_seconds: float
) -> None:
    """Serialize submissions of one (agent, key) until this transaction ends, waiting
    up to `wait_seconds` for the lock whatever the statement timeout (restored after)."""
    cur = await conn.execute(WAIT_FOR_LOCK, {"wait": f"{int(wait_seconds * 1000)}ms"})
    row = await cur.fetchone()
    assert row is not None
    await conn.execute(
        LOCK_IDEMPOTENCY_KEY, {"agent": submitted_by, "key": key, "statement_timeout": row[0]}
    )


async def submission_by_key(
    conn: Connection, submitted_by: UUID, key: str
) -> StoredSubmission | None:
    async with conn.cursor(row_factory=class_row(StoredSubmission)) as cur:
        await cur.execute(SUBMISSION_BY_KEY, {"submitted_by": submitted_by, "key": key})
        return await cur.fetchone()


async def accepted_submission_of_key(conn: Connection, key: str) -> StoredSubmission | None:
    """The first accepted bundle with this key, whoever submitted it."""
    async with conn.cursor(row_factory=class_row(StoredSubmission)) as cur:
        await cur.execute(ACCEPTED_SUBMISSION_OF_KEY, {"key": key})
        return await cur.fetchone()


async def insert_bundle(
    conn: Connection,
    *,
    id: UUID,
    key: str,
    submitted_by: UUID,
    extension_id: str | None,
    contributor_id: UUID | None,
    source_id: UUID,
    request_hash: str,
    attrs: dict[str, Any],
) -> None:
    """Insert the bundle row as `processing`; `accept_bundle` completes it."""
    await conn.execute(
        INSERT_BUNDLE,
        {
            "id": id,
            "key": key,
            "submitted_by": submitted_by,
            "extension_id": extension_id,
            "contributor_id": contributor_id,
            "source_id": source_id,
            "request_hash": request_hash,
            "attrs": Jsonb(attrs),
        },
    )


async def accept_bundle(
    conn: Connection,
    bundle_id: UUID,
    *,
    claim_count: int,
    edge_count: int,
    artifact_count: int,
    response: dict[str, Any],
) -> None:
    """Store the counts and the response replays will return."""
    await conn.execute(
        ACCEPT_BUNDLE,
        {
            "id": bundle_id,
            "claim_count": claim_count,
            "edge_count": edge_count,
            "artifact_count": artifact_count,
            "response": Jsonb(response),
        },
    )
