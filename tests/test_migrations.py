"""The first migration creates DESIGN.md's whole data model, and downgrades cleanly."""

from __future__ import annotations

import psycopg
import pytest

from phiacta.db import migrate
from tests.conftest import TEST_DIMENSIONS
from tests.migrations_expectations import SEEDED_EDGE_TYPES

# Migrations run on a direct connection by design, behind a pooler too
# (DATABASE_LISTEN_URL); these tests start no server.
pytestmark = pytest.mark.direct("migrations always run on a direct connection")

TABLES = {
    "agents",
    "namespaces",
    "sources",
    "claims",
    "edge_types",
    "edges",
    "provenance",
    "reviews",
    "bundles",
    "artifacts",
    "artifact_claims",
    "pending_references",
    "api_keys",
    "events",
    "source_identifiers",
}

INDEXES = {
    "ix_agents_agent_type",
    "ix_agents_name",
    "ix_agents_external_id",
    "ix_namespaces_parent_id",
    "uq_namespaces_parent_name",
    "ix_sources_external_ref",
    "ix_sources_content_hash",
    "ix_sources_submitted_by",
    "ix_source_identifiers_source_id",
    "ix_claims_lineage_version",
    "ix_claims_namespace_id",
    "ix_claims_created_by",
    "ix_claims_supersedes",
    "ix_claims_status",
    "ix_claims_search_tsv",
    "ix_claims_attrs",
    "ix_claims_embedding",
    "ix_claims_live",
    "ix_claims_retracted",
    "ix_claims_draft",
    "ix_agents_owned_by",
    "ix_provenance_source_position",
    "uq_claims_lineage_version",
    "ix_edges_source_type",
    "ix_edges_target_type",
    "ix_edges_edge_type",
    "ix_edges_created_by",
    "ix_edges_source_provenance",
    "ix_edges_source_created",
    "ix_edges_target_created",
    "uq_edges_source_target_type_creator",
    "ix_provenance_claim_id",
    "ix_provenance_source_id",
    "ix_provenance_extracted_by",
    "uq_provenance_claim_source_extractor",
    "ix_reviews_reviewer_id",
    "uq_reviews_claim_reviewer",
    "uq_bundles_submitter_key",
    "ix_bundles_source_id",
    "ix_bundles_idempotency_key",
    "ix_bundles_contributor_id",
    "ix_artifacts_bundle_id",
    "ix_artifact_claims_claim_id",
    "ix_pending_references_pending",
    "ix_pending_references_source_claim_id",
    "ix_pending_references_resolved_to",
    "uq_api_keys_prefix",
    "ix_api_keys_agent_id",
    "ix_events_type_id",
    "ix_events_created_at",
    "ux_claims_latest_id",
    "ux_claims_with_confidence_claim_id",
}


def names(conn: psycopg.Connection, sql: str) -> set[str]:
    return {str(row[0]) for row in conn.execute(sql).fetchall()}


def test_migration_creates_every_table_of_the_data_model(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        tables = names(conn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert tables >= TABLES


def test_every_entity_table_has_attrs_and_a_timestamp(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """
            SELECT table_name, array_agg(column_name::text)
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = ANY(%s)
            GROUP BY table_name
            """,
            (sorted(TABLES - {"artifact_claims", "events", "source_identifiers"}),),
        ).fetchall()
    for table, columns in rows:
        assert "attrs" in columns, table
        assert {"created_at", "submitted_at"} & set(columns), table


def test_migration_creates_every_index(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        indexes = names(conn, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    assert indexes >= INDEXES, sorted(INDEXES - indexes)


def test_ann_and_text_indexes_use_the_right_access_methods(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        methods = dict(
            conn.execute(
                """
                SELECT i.relname, am.amname
                FROM pg_class i JOIN pg_am am ON am.oid = i.relam
                WHERE i.relname IN ('ix_claims_embedding', 'ix_claims_search_tsv',
                                    'ix_claims_attrs', 'ix_pending_references_pending')
                """
            ).fetchall()
        )
        partial = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_pending_references_pending'"
        ).fetchone()
    assert methods == {
        "ix_claims_embedding": "hnsw",
        "ix_claims_search_tsv": "gin",
        "ix_claims_attrs": "gin",
        "ix_pending_references_pending": "btree",
    }
    assert partial is not None and "WHERE (status = 'pending'" in partial[0]


def test_migration_creates_both_materialized_views_refreshable_concurrently(
    database_url: str,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        views = names(conn, "SELECT matviewname FROM pg_matviews WHERE schemaname = 'public'")
        assert views >= {"claims_latest", "claims_with_confidence"}
        conn.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY claims_latest")
        conn.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY claims_with_confidence")


def test_vector_column_has_the_configured_dimension(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            """
            SELECT format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = 'claims'::regclass AND attname = 'embedding'
            """
        ).fetchone()
        extensions = names(conn, "SELECT extname FROM pg_extension")
    assert row == (f"vector({TEST_DIMENSIONS})",)
    assert "vector" in extensions


def test_the_fifteen_edge_types_are_seeded_with_their_properties(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            """
            SELECT name, inverse_name, is_transitive, is_symmetric, is_anti_reflexive, category
            FROM edge_types
            """
        ).fetchall()
    assert {row[0]: tuple(row[1:]) for row in rows} == SEEDED_EDGE_TYPES


def test_anti_reflexive_edge_types_refuse_self_loops(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        claim = conn.execute(
            "INSERT INTO claims (lineage_id, claim_type, content) "
            "VALUES (gen_random_uuid(), 'assertion', 'a claim') RETURNING id"
        ).fetchone()
        assert claim is not None
        conn.execute(
            "INSERT INTO edges (source_id, target_id, edge_type) VALUES (%s, %s, 'related_to')",
            (claim[0], claim[0]),
        )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO edges (source_id, target_id, edge_type) VALUES (%s, %s, 'supports')",
                (claim[0], claim[0]),
            )
        conn.rollback()


def test_downgrade_to_base_and_upgrade_again_on_a_database_with_data(
    empty_database_url: str,
) -> None:
    migrate.upgrade(empty_database_url, TEST_DIMENSIONS)
    with psycopg.connect(empty_database_url) as conn:
        conn.execute("INSERT INTO agents (agent_type, name) VALUES ('human', 'Ada')")
        conn.execute(
            "INSERT INTO claims (lineage_id, claim_type, content) "
            "VALUES (gen_random_uuid(), 'assertion', 'water boils at 100 C at sea level')"
        )
    migrate.downgrade(empty_database_url, TEST_DIMENSIONS, "base")
    with psycopg.connect(empty_database_url) as conn:
        left = names(conn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        views = names(conn, "SELECT matviewname FROM pg_matviews WHERE schemaname = 'public'")
    assert left <= {"alembic_version"}
    assert not views
    migrate.upgrade(empty_database_url, TEST_DIMENSIONS)
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM edge_types").fetchone() == (15,)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
            migrate.head_revision(),
        )
