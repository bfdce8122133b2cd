"""`phiacta backup`, `phiacta restore` and `phiacta refresh-views` as an operator runs
them, plus the background refresh of the materialized views."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from phiacta.db import admin, migrate
from phiacta.db.pool import create_pool
from phiacta.db.view_refresher import ViewRefresher
from tests.conftest import TEST_DIMENSIONS
from tests.support import LiveServer, make_settings, unique_name

CLI_TIMEOUT_SECONDS = 120

# A small but complete graph: every table the API writes gets rows, claims have
# embeddings, versions and reviews, so both materialized views have content.
POPULATE = f"""
WITH a AS (
    INSERT INTO agents (agent_type, name) VALUES ('pipeline', 'ingest-bot'), ('human', 'ada')
    RETURNING id
), ns AS (
    INSERT INTO namespaces (name, description) VALUES ('biology', 'life') RETURNING id
), s AS (
    INSERT INTO sources (source_type, title, external_ref)
    VALUES ('paper', 'On aspirin', '10.1000/aspirin') RETURNING id
), c AS (
    INSERT INTO claims (lineage_id, claim_type, content, namespace_id, created_by, embedding,
                        attrs)
    SELECT gen_random_uuid(), 'assertion', 'claim number ' || g || ' about aspirin',
           (SELECT id FROM ns), (SELECT min(id::text)::uuid FROM a),
           array_fill((g % 7 + 1)::real / 10, ARRAY[{TEST_DIMENSIONS}])::vector,
           jsonb_build_object('n', g)
    FROM generate_series(1, 120) AS g
    RETURNING id
)
INSERT INTO provenance (claim_id, source_id, confidence)
SELECT c.id, (SELECT id FROM s), 0.9 FROM c;

INSERT INTO edges (source_id, target_id, edge_type)
SELECT a.id, b.id, 'supports'
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM claims) a
JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM claims) b ON b.n = a.n + 1;

INSERT INTO reviews (claim_id, reviewer_id, verdict, confidence)
SELECT c.id, ag.id, CASE WHEN ag.agent_type = 'human' THEN 'endorse' ELSE 'dispute' END, 0.8
FROM (SELECT id FROM claims ORDER BY id LIMIT 40) c CROSS JOIN agents ag;

-- A revised lineage: the old version deprecated, the new one superseding it.
WITH old AS (
    UPDATE claims SET status = 'deprecated'
    WHERE id = (SELECT id FROM claims ORDER BY id LIMIT 1)
    RETURNING id, lineage_id, claim_type
)
INSERT INTO claims (lineage_id, version, claim_type, content, supersedes)
SELECT lineage_id, 2, claim_type, 'a revised claim about aspirin', id FROM old;

INSERT INTO events (type, payload) VALUES ('claim.created', '{{"n": 1}}');
"""

CLAIMS_CHECKSUM = """
SELECT md5(string_agg(
    concat_ws('|', id, lineage_id, version, claim_type, content, formal_content, status,
              namespace_id, created_by, supersedes, embedding::text, attrs::text, created_at),
    ',' ORDER BY id))
FROM claims
"""

TABLES = """
SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename
"""


def _cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phiacta", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


def _env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PHIACTA_"))}
    env |= {
        "PHIACTA_DATA_DIR": str(data_dir),
        "EMBEDDING_PROVIDER": "local",
        "ENVIRONMENT": "production",
        "LOG_LEVEL": "warning",
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


def _snapshot(url: str) -> dict[str, object]:
    """Row counts of every table and view, the claims checksum and the revision."""
    with psycopg.connect(url) as conn:
        tables = [row[0] for row in conn.execute(TABLES)]
        counts: dict[str, object] = {
            name: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))
            ).fetchone()
            for name in [*tables, "claims_latest", "claims_with_confidence"]
        }
        counts["claims checksum"] = conn.execute(CLAIMS_CHECKSUM).fetchone()
        counts["revision"] = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return counts


@pytest.fixture(scope="module")
def populated_url(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        conn.execute(POPULATE)
        conn.execute("REFRESH MATERIALIZED VIEW claims_latest")
        conn.execute("REFRESH MATERIALIZED VIEW claims_with_confidence")
    return database_url


@pytest.fixture
def fresh_database_url(pg_admin_url: str) -> Iterator[str]:
    name = unique_name("phiacta_restored")
    admin.create_database(pg_admin_url, name)
    yield admin.with_database(pg_admin_url, name)
    admin.drop_database(pg_admin_url, name)


def test_a_backup_restored_into_a_fresh_database_has_every_row_and_is_ready(
    populated_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    dump = tmp_path / "phiacta.dump"
    made = _cli(_env(tmp_path, populated_url), "backup", str(dump), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == str(dump)
    assert dump.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format

    restored = _cli(_env(tmp_path, fresh_database_url), "restore", str(dump), cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr

    original = _snapshot(populated_url)
    assert original["claims"] == (121,) and original["claims_latest"] == (120,)
    assert _snapshot(fresh_database_url) == original
    settings = make_settings(fresh_database_url, tmp_path / "data", environment="production")
    with LiveServer.run(settings) as live:
        ready = httpx.get(f"{live.url}/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["revision"] == migrate.head_revision()


def test_restore_over_a_changed_database_returns_it_to_the_backup(
    pg_admin_url: str, template_database: str, tmp_path: Path
) -> None:
    name = unique_name("phiacta_changed")
    admin.create_database(pg_admin_url, name, template=template_database)
    url = admin.with_database(pg_admin_url, name)
    try:
        with psycopg.connect(url) as conn:
            conn.execute("INSERT INTO namespaces (name) VALUES ('kept')")
        env = _env(tmp_path, url)
        assert _cli(env, "backup", "before.dump", cwd=tmp_path).returncode == 0
        with psycopg.connect(url) as conn:
            conn.execute("INSERT INTO namespaces (name) VALUES ('added_later')")
            conn.execute("DELETE FROM namespaces WHERE name = 'kept'")
        restored = _cli(env, "restore", "before.dump", cwd=tmp_path)
        assert restored.returncode == 0, restored.stderr
        with psycopg.connect(url) as conn:
            names = [row[0] for row in conn.execute("SELECT name FROM namespaces")]
        assert names == ["kept"]
    finally:
        admin.drop_database(pg_admin_url, name)


def test_backup_without_a_file_name_writes_a_timestamped_dump_of_the_embedded_server(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path / "data")
    assert _cli(env, "migrate", "upgrade", "head", cwd=tmp_path).returncode == 0
    made = _cli(env, "backup", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    dump = Path(made.stdout.strip())
    assert dump.parent == tmp_path.resolve()
    assert dump.name.startswith("phiacta-") and dump.suffix == ".dump"
    restored = _cli(env, "restore", str(dump), cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr


def test_restore_of_a_missing_file_fails_with_a_message(tmp_path: Path, database_url: str) -> None:
    result = _cli(_env(tmp_path, database_url), "restore", "nope.dump", cwd=tmp_path)
    assert result.returncode == 1
    assert "nope.dump: no such backup file" in result.stderr


def test_refresh_views_brings_a_new_claim_into_claims_latest(
    populated_url: str, tmp_path: Path
) -> None:
    content = unique_name("fresh claim")
    with psycopg.connect(populated_url) as conn:
        conn.execute(
            "INSERT INTO claims (lineage_id, claim_type, content) "
            "VALUES (gen_random_uuid(), 'observation', %s)",
            (content,),
        )
    result = _cli(_env(tmp_path, populated_url), "refresh-views", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with psycopg.connect(populated_url) as conn:
        found = conn.execute("SELECT count(*) FROM claims_latest WHERE content = %s", (content,))
        assert found.fetchone() == (1,)


async def test_a_poke_after_a_write_refreshes_the_views_in_the_background(
    populated_url: str, tmp_path: Path
) -> None:
    settings = make_settings(populated_url, tmp_path, database_pool_size=1)
    content = unique_name("background claim")
    pool = create_pool(settings, populated_url)
    await pool.open()
    refresher = ViewRefresher(interval_seconds=0.05)
    task = asyncio.create_task(refresher.run(pool))
    try:
        async with pool.connection() as conn:
            await conn.execute(
                "INSERT INTO claims (lineage_id, claim_type, content) "
                "VALUES (gen_random_uuid(), 'observation', %s)",
                (content,),
            )
        for _ in range(20):  # a burst of writes
            refresher.poke()
        async with asyncio.timeout(30):
            await refresher.wait_for_refresh(0)
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM claims_latest WHERE content = %s", (content,)
            )
            assert await cur.fetchone() == (1,)
    finally:
        task.cancel()
        await pool.close()


def test_a_disabled_refresher_ignores_pokes() -> None:
    refresher = ViewRefresher(interval_seconds=0)
    refresher.poke()
    assert not refresher.enabled
    assert refresher.refreshes == 0
