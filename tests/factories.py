"""Small SQL factories that arrange data for read tests with direct INSERTs.

Each function inserts one row with sensible defaults and returns its id. They bypass the
write path on purpose: read tests arrange exact shapes (versions, statuses, timestamps,
embeddings) that mutations would not let them choose.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb


class Factory:
    """Inserts rows through one autocommit connection to a test database."""

    def __init__(self, database_url: str) -> None:
        self.conn = psycopg.connect(database_url, autocommit=True)
        register_vector(self.conn)

    def close(self) -> None:
        self.conn.close()

    def _insert(self, table: str, values: dict[str, Any]) -> UUID:
        columns = ", ".join(values)
        placeholders = ", ".join(f"%({name})s" for name in values)
        row = self.conn.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING id", values
        ).fetchone()
        assert row is not None
        return UUID(str(row[0]))

    def agent(self, name: str = "agent", agent_type: str = "human", **extra: Any) -> UUID:
        return self._insert("agents", {"name": name, "agent_type": agent_type, **extra})

    def namespace(self, name: str, parent_id: UUID | None = None) -> UUID:
        return self._insert("namespaces", {"name": name, "parent_id": parent_id})

    def source(
        self,
        title: str = "a paper",
        source_type: str = "paper",
        external_ref: str | None = None,
        submitted_by: UUID | None = None,
    ) -> UUID:
        source_id = self._insert(
            "sources",
            {
                "title": title,
                "source_type": source_type,
                "external_ref": external_ref,
                "content_hash": hashlib.sha256(title.encode()).hexdigest(),
                "submitted_by": submitted_by,
            },
        )
        if external_ref is not None:
            self.conn.execute(
                "INSERT INTO source_identifiers (identifier, source_id) VALUES (%s, %s)",
                (external_ref, source_id),
            )
        return source_id

    def claim(
        self,
        content: str = "a claim",
        *,
        claim_type: str = "assertion",
        status: str = "active",
        lineage_id: UUID | None = None,
        version: int = 1,
        supersedes: UUID | None = None,
        formal_content: str | None = None,
        namespace_id: UUID | None = None,
        created_by: UUID | None = None,
        attrs: dict[str, Any] | None = None,
        created_at: datetime | None = None,
        embedding: list[float] | None = None,
    ) -> UUID:
        values: dict[str, Any] = {
            "content": content,
            "claim_type": claim_type,
            "status": status,
            "lineage_id": lineage_id or uuid.uuid4(),
            "version": version,
            "supersedes": supersedes,
            "formal_content": formal_content,
            "namespace_id": namespace_id,
            "created_by": created_by,
            "attrs": Jsonb(attrs or {}),
            "embedding": embedding,
        }
        if created_at is not None:
            values["created_at"] = created_at
        return self._insert("claims", values)

    def revise(self, claim_id: UUID, content: str) -> UUID:
        """A new version of the claim's lineage; the old one becomes deprecated."""
        row = self.conn.execute(
            "SELECT lineage_id, version, claim_type, namespace_id, created_by FROM claims"
            " WHERE id = %s",
            (claim_id,),
        ).fetchone()
        assert row is not None
        lineage_id, version, claim_type, namespace_id, created_by = row
        self.conn.execute("UPDATE claims SET status = 'deprecated' WHERE id = %s", (claim_id,))
        return self.claim(
            content,
            claim_type=claim_type,
            lineage_id=lineage_id,
            version=version + 1,
            supersedes=claim_id,
            namespace_id=namespace_id,
            created_by=created_by,
        )

    def set_status(self, claim_id: UUID, status: str) -> None:
        self.conn.execute("UPDATE claims SET status = %s WHERE id = %s", (status, claim_id))

    def edge(
        self,
        source_id: UUID,
        target_id: UUID,
        edge_type: str = "supports",
        *,
        strength: float = 1.0,
        created_by: UUID | None = None,
        source_provenance: UUID | None = None,
    ) -> UUID:
        return self._insert(
            "edges",
            {
                "source_id": source_id,
                "target_id": target_id,
                "edge_type": edge_type,
                "strength": strength,
                "created_by": created_by,
                "source_provenance": source_provenance,
            },
        )

    def review(
        self,
        claim_id: UUID,
        reviewer_id: UUID,
        verdict: str = "endorse",
        confidence: float = 0.9,
        comment: str | None = None,
    ) -> UUID:
        return self._insert(
            "reviews",
            {
                "claim_id": claim_id,
                "reviewer_id": reviewer_id,
                "verdict": verdict,
                "confidence": confidence,
                "comment": comment,
            },
        )

    def provenance(
        self,
        claim_id: UUID,
        source_id: UUID,
        *,
        extracted_by: UUID | None = None,
        location_in_source: str | None = None,
        confidence: float | None = 0.8,
        position: tuple[int | None, int | None, int | None] = (None, None, None),
    ) -> UUID:
        section, paragraph, sentence = position
        return self._insert(
            "provenance",
            {
                "claim_id": claim_id,
                "source_id": source_id,
                "extracted_by": extracted_by,
                "extraction_method": "manual",
                "location_in_source": location_in_source,
                "confidence": confidence,
                "section_index": section,
                "paragraph_index": paragraph,
                "sentence_index": sentence,
            },
        )

    def bundle(
        self,
        submitted_by: UUID,
        *,
        source_id: UUID | None = None,
        status: str = "accepted",
        key: str | None = None,
    ) -> UUID:
        return self._insert(
            "bundles",
            {
                "idempotency_key": key or uuid.uuid4().hex,
                "submitted_by": submitted_by,
                "source_id": source_id,
                "status": status,
                "request_hash": "0" * 64,
            },
        )

    def artifact(
        self, claim_ids: list[UUID], *, bundle_id: UUID | None = None, description: str = "fig"
    ) -> UUID:
        artifact_id = self._insert(
            "artifacts",
            {"bundle_id": bundle_id, "artifact_type": "figure", "description": description},
        )
        for claim_id in claim_ids:
            self.conn.execute(
                "INSERT INTO artifact_claims (artifact_id, claim_id) VALUES (%s, %s)",
                (artifact_id, claim_id),
            )
        return artifact_id

    def pending_reference(
        self,
        source_claim_id: UUID,
        external_ref: str,
        *,
        edge_type: str = "supports",
        bundle_id: UUID | None = None,
        status: str = "pending",
    ) -> UUID:
        return self._insert(
            "pending_references",
            {
                "source_claim_id": source_claim_id,
                "external_ref": external_ref,
                "edge_type": edge_type,
                "bundle_id": bundle_id,
                "status": status,
            },
        )
