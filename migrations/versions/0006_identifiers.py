"""Identifiers with one spelling: canonical external references and a source's identifiers.

A source may be known by several identifiers (a JOSS paper's DOI and its journal
companion's, an arXiv id); `source_identifiers` holds each once, so a source with a known
identifier is found instead of duplicated, and a pending reference resolves when any of
them arrives. Existing external references (sources, pending references) and agents'
ORCID iDs are rewritten to the canonical spelling of `phiacta.identifiers`; where two
sources already share an identifier, the older one keeps it.

The downgrade drops the table; the rewritten spellings stay (they are equivalent).

Revision ID: 0006_identifiers
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Callable

from alembic import op
from sqlalchemy import text

from phiacta.identifiers import canonical_identifier, parse_orcid

revision = "0006_identifiers"
down_revision = "0005"
branch_labels = None
depends_on = None

REWRITE = """
UPDATE {table} t SET {column} = m.canonical
FROM unnest(CAST(:old AS text[]), CAST(:new AS text[])) AS m(old, canonical)
WHERE t.{column} = m.old
"""


def _rewrite(table: str, column: str, canonical: Callable[[str], str | None]) -> None:
    bind = op.get_bind()
    rows = bind.execute(text(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL"))
    changed = [(old, new) for (old,) in rows if (new := canonical(old)) is not None and new != old]
    if changed:
        bind.execute(
            text(REWRITE.format(table=table, column=column)),
            {"old": [o for o, _ in changed], "new": [n for _, n in changed]},
        )


def upgrade() -> None:
    _rewrite("sources", "external_ref", canonical_identifier)
    _rewrite("pending_references", "external_ref", canonical_identifier)
    _rewrite("agents", "external_id", parse_orcid)
    op.execute(
        """
        CREATE TABLE source_identifiers (
            identifier text PRIMARY KEY CHECK (length(identifier) BETWEEN 1 AND 2000),
            source_id uuid NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX ix_source_identifiers_source_id ON source_identifiers (source_id)")
    # Extensions ask whether any agent already ingested a document (their keys name it).
    op.execute("CREATE INDEX ix_bundles_idempotency_key ON bundles (idempotency_key)")
    op.execute(
        """
        INSERT INTO source_identifiers (identifier, source_id, created_at)
        SELECT DISTINCT ON (external_ref) external_ref, id, created_at
        FROM sources
        WHERE external_ref IS NOT NULL
        ORDER BY external_ref, created_at, id
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_bundles_idempotency_key")
    op.execute("DROP TABLE source_identifiers")
