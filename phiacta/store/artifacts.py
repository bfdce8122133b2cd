"""The artifacts table and its links to claims (artifact_claims)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from phiacta.store import Connection
from phiacta.store.claims import CLAIM_COLUMNS, ClaimRow
from phiacta.store.rows import ArtifactRow
from phiacta.store.visibility import Visibility, claim_visible

# ---------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------

MAX_ARTIFACTS_PER_OWNER = 200
MAX_CLAIMS_PER_ARTIFACT = 500

ARTIFACT_COLUMNS = """
    a.id, a.bundle_id, a.artifact_type, a.description, a.storage_ref, a.content_inline,
    a.structured_data, a.attrs, a.created_at
"""

ARTIFACTS_OF_CLAIMS = f"""
SELECT k.id AS of_claim, page.*
FROM unnest(%(ids)s::uuid[]) AS k(id)
CROSS JOIN LATERAL (
    SELECT {ARTIFACT_COLUMNS}
    FROM artifact_claims ac
    JOIN artifacts a ON a.id = ac.artifact_id
    WHERE ac.claim_id = k.id
    ORDER BY a.created_at, a.id
    LIMIT {MAX_ARTIFACTS_PER_OWNER}
) page
"""

ARTIFACTS_OF_BUNDLES = f"""
SELECT page.*
FROM unnest(%(ids)s::uuid[]) AS k(id)
CROSS JOIN LATERAL (
    SELECT {ARTIFACT_COLUMNS}
    FROM artifacts a
    WHERE a.bundle_id = k.id
    ORDER BY a.created_at, a.id
    LIMIT {MAX_ARTIFACTS_PER_OWNER}
) page
"""

CLAIMS_OF_ARTIFACTS = f"""
SELECT k.id AS of_artifact, page.*
FROM unnest(%(ids)s::uuid[]) AS k(id)
CROSS JOIN LATERAL (
    SELECT {CLAIM_COLUMNS}
    FROM artifact_claims ac
    JOIN claims c ON c.id = ac.claim_id
    WHERE ac.artifact_id = k.id
      AND {claim_visible("c")}
    ORDER BY c.created_at, c.id
    LIMIT {MAX_CLAIMS_PER_ARTIFACT}
) page
"""


async def artifacts_of_claims(
    conn: Connection, claim_ids: Sequence[UUID]
) -> dict[UUID, list[ArtifactRow]]:
    found: dict[UUID, list[ArtifactRow]] = {claim_id: [] for claim_id in claim_ids}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(ARTIFACTS_OF_CLAIMS, {"ids": list(claim_ids)})
        for row in await cur.fetchall():
            of_claim = row.pop("of_claim")
            found[of_claim].append(ArtifactRow(**row))
    return found


async def artifacts_of_bundles(
    conn: Connection, bundle_ids: Sequence[UUID]
) -> dict[UUID, list[ArtifactRow]]:
    found: dict[UUID, list[ArtifactRow]] = {bundle_id: [] for bundle_id in bundle_ids}
    async with conn.cursor(row_factory=class_row(ArtifactRow)) as cur:
        await cur.execute(ARTIFACTS_OF_BUNDLES, {"ids": list(bundle_ids)})
        for row in await cur.fetchall():
            if row.bundle_id is not None:
                found[row.bundle_id].append(row)
    return found


async def claims_of_artifacts(
    conn: Connection, artifact_ids: Sequence[UUID], visibility: Visibility
) -> dict[UUID, list[ClaimRow]]:
    found: dict[UUID, list[ClaimRow]] = {artifact_id: [] for artifact_id in artifact_ids}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(CLAIMS_OF_ARTIFACTS, {"ids": list(artifact_ids)} | visibility.params())
        for row in await cur.fetchall():
            of_artifact = row.pop("of_artifact")
            found[of_artifact].append(ClaimRow(**row))
    return found


# ---------------------------------------------------------------------------------------
# Writes (the write path)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewArtifact:
    id: UUID
    bundle_id: UUID
    artifact_type: str
    description: str | None
    storage_ref: str | None
    content_inline: str | None
    structured_data: Any
    attrs: dict[str, Any]
    claim_ids: tuple[UUID, ...]


INSERT_ARTIFACTS = """
INSERT INTO artifacts (id, bundle_id, artifact_type, description, storage_ref,
                       content_inline, structured_data, attrs)
SELECT *
FROM unnest(
    %(ids)s::uuid[], %(bundle_ids)s::uuid[], %(types)s::text[], %(descriptions)s::text[],
    %(storage_refs)s::text[], %(contents)s::text[], %(structured)s::jsonb[],
    %(attrs)s::jsonb[]
)
"""

LINK_ARTIFACT_CLAIMS = """
INSERT INTO artifact_claims (artifact_id, claim_id)
SELECT * FROM unnest(%(artifact_ids)s::uuid[], %(claim_ids)s::uuid[])
ON CONFLICT DO NOTHING
"""


async def insert_artifacts(conn: Connection, artifacts: Sequence[NewArtifact]) -> None:
    """Insert the artifacts and their claim links (two statements for any number)."""
    if not artifacts:
        return
    await conn.execute(
        INSERT_ARTIFACTS,
        {
            "ids": [a.id for a in artifacts],
            "bundle_ids": [a.bundle_id for a in artifacts],
            "types": [a.artifact_type for a in artifacts],
            "descriptions": [a.description for a in artifacts],
            "storage_refs": [a.storage_ref for a in artifacts],
            "contents": [a.content_inline for a in artifacts],
            "structured": [
                None if a.structured_data is None else Jsonb(a.structured_data) for a in artifacts
            ],
            "attrs": [Jsonb(a.attrs) for a in artifacts],
        },
    )
    links = [(a.id, claim_id) for a in artifacts for claim_id in a.claim_ids]
    if links:
        await conn.execute(
            LINK_ARTIFACT_CLAIMS,
            {"artifact_ids": [a for a, _ in links], "claim_ids": [c for _, c in links]},
        )
