"""The pending_references table: edges waiting for their external target to arrive."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.rows import PendingReferenceRow
from phiacta.store.visibility import Visibility, hidden_draft

# ---------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------

PENDING_REFERENCE_COLUMNS = """
    pr.id, pr.source_claim_id, pr.external_ref, pr.edge_type, pr.strength, pr.created_by,
    pr.bundle_id, pr.status, pr.resolved_to, pr.resolved_at, pr.attrs, pr.created_at
"""


def _conditions(
    status: str | None, bundle_id: UUID | None, visibility: Visibility
) -> tuple[str, dict[str, Any]]:
    # A reference left by a draft is as private as the draft.
    conditions = [f"NOT {hidden_draft('pr.source_claim_id')}"]
    params: dict[str, Any] = visibility.params()
    if status is not None:
        conditions.append("pr.status = %(status)s")
        params["status"] = status
    if bundle_id is not None:
        conditions.append("pr.bundle_id = %(bundle_id)s")
        params["bundle_id"] = bundle_id
    return " AND ".join(conditions), params


async def list_pending_references(
    conn: Connection,
    *,
    status: str | None,
    bundle_id: UUID | None,
    limit: int,
    after: tuple[datetime, UUID] | None,
    visibility: Visibility,
) -> list[PendingReferenceRow]:
    where, params = _conditions(status, bundle_id, visibility)
    if after is not None:
        where += " AND (pr.created_at, pr.id) > (%(after_at)s, %(after_id)s)"
        params |= {"after_at": after[0], "after_id": after[1]}
    query = f"""
SELECT {PENDING_REFERENCE_COLUMNS}
FROM pending_references pr
WHERE {where}
ORDER BY pr.created_at, pr.id
LIMIT %(limit)s
"""
    async with conn.cursor(row_factory=class_row(PendingReferenceRow)) as cur:
        await cur.execute(query, params | {"limit": limit})
        return await cur.fetchall()


async def count_pending_references(
    conn: Connection, *, status: str | None, bundle_id: UUID | None, visibility: Visibility
) -> int:
    where, params = _conditions(status, bundle_id, visibility)
    cur = await conn.execute(f"SELECT count(*) FROM pending_references pr WHERE {where}", params)
    row = await cur.fetchone()
    return int(row[0]) if row else 0


# ---------------------------------------------------------------------------------------
# Writes: leaving references behind and resolving them (the write path)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPendingReference:
    id: UUID
    source_claim_id: UUID
    external_ref: str
    edge_type: str
    strength: float
    created_by: UUID
    bundle_id: UUID
    attrs: dict[str, Any]


INSERT_PENDING_REFERENCES = """
INSERT INTO pending_references (id, source_claim_id, external_ref, edge_type, strength,
                                created_by, bundle_id, attrs)
SELECT *
FROM unnest(
    %(ids)s::uuid[], %(source_claim_ids)s::uuid[], %(refs)s::text[], %(edge_types)s::text[],
    %(strengths)s::double precision[], %(created_by)s::uuid[], %(bundle_ids)s::uuid[],
    %(attrs)s::jsonb[]
)
"""

# The UPDATE row-locks what it resolves: two bundles carrying the same reference at once
# resolve each pending row exactly once (the second re-checks `status` after the first
# commits and skips it).
RESOLVE_PENDING_REFERENCES = f"""
UPDATE pending_references pr
SET status = 'resolved', resolved_to = %(claim_id)s, resolved_at = now()
WHERE pr.external_ref = ANY(%(refs)s::text[]) AND pr.status = 'pending'
RETURNING {PENDING_REFERENCE_COLUMNS}
"""


async def insert_pending_references(conn: Connection, rows: Sequence[NewPendingReference]) -> None:
    if not rows:
        return
    await conn.execute(
        INSERT_PENDING_REFERENCES,
        {
            "ids": [r.id for r in rows],
            "source_claim_ids": [r.source_claim_id for r in rows],
            "refs": [r.external_ref for r in rows],
            "edge_types": [r.edge_type for r in rows],
            "strengths": [r.strength for r in rows],
            "created_by": [r.created_by for r in rows],
            "bundle_ids": [r.bundle_id for r in rows],
            "attrs": [Jsonb(r.attrs) for r in rows],
        },
    )


async def resolve_pending_references(
    conn: Connection, external_refs: Sequence[str], claim_id: UUID
) -> list[PendingReferenceRow]:
    """Mark every pending reference to one of `external_refs` (canonical identifiers of
    one source) resolved to `claim_id`; those rows."""
    async with conn.cursor(row_factory=class_row(PendingReferenceRow)) as cur:
        await cur.execute(
            RESOLVE_PENDING_REFERENCES, {"refs": list(external_refs), "claim_id": claim_id}
        )
        return await cur.fetchall()


MOVE_PENDING_TO_NEW_VERSION = """
UPDATE pending_references
SET source_claim_id = %(new_id)s
WHERE source_claim_id = %(old_id)s AND status = 'pending'
"""


async def move_pending_to_new_version(conn: Connection, *, old_id: UUID, new_id: UUID) -> None:
    """Edges still waiting for their external reference start from the new version: when
    the reference arrives, the edge joins the claim's current version."""
    await conn.execute(MOVE_PENDING_TO_NEW_VERSION, {"old_id": old_id, "new_id": new_id})
