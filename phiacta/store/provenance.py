"""The provenance table: where each claim was found, by whom, how confidently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.claims import CLAIM_COLUMNS, ClaimRow
from phiacta.store.rows import ProvenanceRow

# ---------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------

MAX_PROVENANCE_PER_CLAIM = 200
MAX_CLAIMS_PER_SOURCE = 2000

PROVENANCE_COLUMNS = """
    p.id, p.claim_id, p.source_id, p.extracted_by, p.extraction_method,
    p.location_in_source, p.confidence, p.attrs, p.created_at
"""

PROVENANCE_OF_CLAIMS = f"""
SELECT page.*
FROM unnest(%(ids)s::uuid[]) AS k(id)
CROSS JOIN LATERAL (
    SELECT {PROVENANCE_COLUMNS}
    FROM provenance p
    WHERE p.claim_id = k.id
    ORDER BY p.created_at, p.id
    LIMIT {MAX_PROVENANCE_PER_CLAIM}
) page
"""

# A paper's claims in reading order: by location in the source when the extractor gave
# one (natural sort would need parsing; text order is what extractors are told to emit),
# then by extraction time.
CLAIMS_OF_SOURCE = f"""
SELECT {CLAIM_COLUMNS}
FROM provenance p
JOIN claims c ON c.id = p.claim_id
WHERE p.source_id = %(source_id)s
  AND (%(include_retracted)s OR c.status <> 'retracted')
ORDER BY p.location_in_source NULLS LAST, p.created_at, c.created_at, c.id
LIMIT {MAX_CLAIMS_PER_SOURCE}
"""


async def provenance_of_claims(
    conn: Connection, claim_ids: Sequence[UUID]
) -> dict[UUID, list[ProvenanceRow]]:
    found: dict[UUID, list[ProvenanceRow]] = {claim_id: [] for claim_id in claim_ids}
    async with conn.cursor(row_factory=class_row(ProvenanceRow)) as cur:
        await cur.execute(PROVENANCE_OF_CLAIMS, {"ids": list(claim_ids)})
        for row in await cur.fetchall():
            found[row.claim_id].append(row)
    return found


async def claims_of_source(
    conn: Connection, source_id: UUID, *, include_retracted: bool
) -> list[ClaimRow]:
    """The claims extracted from one source, in reading order (at most 2,000)."""
    async with conn.cursor(row_factory=class_row(ClaimRow)) as cur:
        await cur.execute(
            CLAIMS_OF_SOURCE, {"source_id": source_id, "include_retracted": include_retracted}
        )
        return await cur.fetchall()


# ---------------------------------------------------------------------------------------
# Writes (the write path)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewProvenance:
    claim_id: UUID
    source_id: UUID
    extracted_by: UUID
    extraction_method: str | None
    location_in_source: str | None
    confidence: float | None
    attrs: dict[str, Any]


INSERT_PROVENANCE = """
INSERT INTO provenance (claim_id, source_id, extracted_by, extraction_method,
                        location_in_source, confidence, attrs)
SELECT *
FROM ROWS FROM (
    unnest(%(claim_ids)b::uuid[]), unnest(%(source_ids)b::uuid[]),
    unnest(%(extracted_by)b::uuid[]), unnest(%(methods)b::text[]),
    unnest(%(locations)b::text[]), unnest(%(confidences)b::double precision[]),
    jsonb_array_elements(%(attrs)b::jsonb)
)
"""


async def insert_provenance(conn: Connection, rows: Sequence[NewProvenance]) -> None:
    """Insert every provenance row in one statement."""
    if not rows:
        return
    await conn.execute(
        INSERT_PROVENANCE,
        {
            "claim_ids": [r.claim_id for r in rows],
            "source_ids": [r.source_id for r in rows],
            "extracted_by": [r.extracted_by for r in rows],
            "methods": [r.extraction_method for r in rows],
            "locations": [r.location_in_source for r in rows],
            "confidences": [r.confidence for r in rows],
            "attrs": Jsonb([r.attrs for r in rows]),
        },
    )
