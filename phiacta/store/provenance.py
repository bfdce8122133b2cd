"""The provenance table: where each claim was found, by whom, how confidently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.claims import CLAIM_COLUMNS, IS_LATEST, ClaimRow
from phiacta.store.rows import ProvenanceRow
from phiacta.store.visibility import Visibility, claim_visible

# ---------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------

MAX_PROVENANCE_PER_CLAIM = 200
MAX_CLAIMS_PER_SOURCE = 2000

PROVENANCE_COLUMNS = """
    p.id, p.claim_id, p.source_id, p.extracted_by, p.extraction_method,
    p.location_in_source, p.confidence, p.attrs, p.created_at,
    p.section_index, p.paragraph_index, p.sentence_index
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

# The numbers in a location label, in order ("sec 2, para 10" -> {2, 10}), and the
# label with each number replaced by `#` ("sec #, para #"): sorting by the shape, then
# the numbers, is a natural sort ("para 2" before "para 10").
_LABEL_SHAPE = r"regexp_replace(p.location_in_source, '\d+', '#', 'g')"
_LABEL_NUMBERS = r"""(
    SELECT array_agg(m.n[1]::numeric ORDER BY m.i)
    FROM regexp_matches(p.location_in_source, '(\d+)', 'g') WITH ORDINALITY AS m(n, i)
)"""

# A paper's claims in reading order: by numeric position (section, paragraph, sentence)
# where the extractor gave one; rows without it (older extractors) by a natural sort of
# the location label; then by extraction time. One claim per lineage: its current
# version (a revision carries its provenance, so both versions name the source).
CLAIMS_OF_SOURCE = f"""
SELECT {CLAIM_COLUMNS}
FROM provenance p
JOIN claims c ON c.id = p.claim_id
WHERE p.source_id = %(source_id)s
  AND (%(include_retracted)s OR c.status <> 'retracted')
  AND {IS_LATEST}
  AND {claim_visible("c")}
ORDER BY p.section_index NULLS LAST, p.paragraph_index NULLS LAST,
         p.sentence_index NULLS LAST, {_LABEL_SHAPE} NULLS LAST, {_LABEL_NUMBERS} NULLS LAST,
         p.location_in_source, p.created_at, c.created_at, c.id
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
    conn: Connection, source_id: UUID, *, include_retracted: bool, visibility: Visibility
) -> list[ClaimRow]:
    """The current versions of the claims extracted from one source, in reading order
    (at most 2,000)."""
    async with conn.cursor(row_factory=class_row(ClaimRow)) as cur:
        await cur.execute(
            CLAIMS_OF_SOURCE,
            {"source_id": source_id, "include_retracted": include_retracted} | visibility.params(),
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
    # Where in the source, as numbers (0-based): section, paragraph, sentence.
    position: ReadingPosition | None = None


@dataclass(frozen=True)
class ReadingPosition:
    section_index: int | None
    paragraph_index: int | None
    sentence_index: int | None


INSERT_PROVENANCE = """
INSERT INTO provenance (claim_id, source_id, extracted_by, extraction_method,
                        location_in_source, confidence, attrs, section_index,
                        paragraph_index, sentence_index)
SELECT *
FROM ROWS FROM (
    unnest(%(claim_ids)b::uuid[]), unnest(%(source_ids)b::uuid[]),
    unnest(%(extracted_by)b::uuid[]), unnest(%(methods)b::text[]),
    unnest(%(locations)b::text[]), unnest(%(confidences)b::double precision[]),
    jsonb_array_elements(%(attrs)b::jsonb), unnest(%(sections)b::integer[]),
    unnest(%(paragraphs)b::integer[]), unnest(%(sentences)b::integer[])
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
            "sections": [r.position.section_index if r.position else None for r in rows],
            "paragraphs": [r.position.paragraph_index if r.position else None for r in rows],
            "sentences": [r.position.sentence_index if r.position else None for r in rows],
        },
    )


# A new version was found where its predecessor was: same source, extractor, method,
# location and extraction confidence.
CARRY_PROVENANCE_FORWARD = """
INSERT INTO provenance (claim_id, source_id, extracted_by, extraction_method,
                        location_in_source, confidence, section_index, paragraph_index,
                        sentence_index, attrs)
SELECT %(new_id)s, p.source_id, p.extracted_by, p.extraction_method, p.location_in_source,
       p.confidence, p.section_index, p.paragraph_index, p.sentence_index,
       p.attrs || jsonb_build_object('carried_from', p.id::text)
FROM provenance p
WHERE p.claim_id = %(old_id)s
ON CONFLICT ON CONSTRAINT uq_provenance_claim_source_extractor DO NOTHING
"""


async def carry_provenance_forward(conn: Connection, *, old_id: UUID, new_id: UUID) -> int:
    """Copy the provenance of `old_id` onto its new version; the number of rows made."""
    cur = await conn.execute(CARRY_PROVENANCE_FORWARD, {"old_id": old_id, "new_id": new_id})
    return cur.rowcount
