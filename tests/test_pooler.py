"""DATABASE_POOLER=pgbouncer against a real PgBouncer in transaction mode (the whole HTTP
suite runs through it too: PHIACTA_TEST_POOLER=pgbouncer, see conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from phiacta.config import Settings
from tests.factories import Factory
from tests.pgbouncer import HOW_TO_GET_IT, PgBouncer, pgbouncer_binary
from tests.support import LiveServer, data_of, gql, make_settings

CLAIM = """query($id: ID!) { claim(id: $id) { id content createdBy { name }
  outgoing(first: 5) { edges { node { edgeType target { id } } } } } }"""

pytestmark = [
    pytest.mark.skipif(
        pgbouncer_binary() is None, reason=f"pgbouncer is not installed: {HOW_TO_GET_IT}"
    ),
    pytest.mark.direct("runs through a PgBouncer of its own, in both passes"),
]


@pytest.fixture(scope="module")
def bouncer(pg_admin_url: str) -> Iterator[PgBouncer]:
    with PgBouncer.run(pg_admin_url) as running:
        yield running


@pytest.fixture(scope="module")
def pooled_settings(
    bouncer: PgBouncer, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    route = bouncer.route(database_url)
    assert route is not None
    pooled_url = str(route.pop("database_url"))
    return make_settings(pooled_url, tmp_path_factory.mktemp("data"), **route)


@pytest.fixture(scope="module")
def pooled_server(pooled_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer.run(pooled_settings) as live:
        yield live


def test_a_prepared_statement_does_not_survive_transaction_pooling(
    bouncer: PgBouncer, pg_admin_url: str
) -> None:
    """Why the setting exists: a statement psycopg prepared on one server connection is
    sent, next time, to whichever one PgBouncer hands out."""
    url = bouncer.pooled(pg_admin_url)
    with psycopg.connect(url, autocommit=True) as conn, psycopg.connect(url) as other:
        conn.execute("SELECT %s::int", [1], prepare=True)
        # The other client's open transaction takes the server connection that prepared
        # it (PgBouncer reuses the most recently used one first).
        other.execute("SELECT 1")
        with pytest.raises(psycopg.errors.InvalidSqlStatementName):
            conn.execute("SELECT %s::int", [1], prepare=True)


def test_claim_reads_run_unprepared_through_the_pooler(
    pooled_server: LiveServer, database_url: str
) -> None:
    factory = Factory(database_url)
    try:
        agent = factory.agent("pooled reader")
        claim_ids = [factory.claim(f"pooled {i}", created_by=agent) for i in range(5)]
    finally:
        factory.close()
    with httpx.Client(base_url=pooled_server.url, timeout=30) as client:
        for _ in range(10):
            for claim_id in claim_ids:
                found = data_of(gql(client, CLAIM, {"id": str(claim_id)}))["claim"]
                assert found["id"] == str(claim_id)


def test_session_settings_move_to_the_role_and_reach_every_pooled_connection(
    pooled_server: LiveServer, bouncer: PgBouncer, database_url: str
) -> None:
    """Set as the role's defaults in this database when the server starts (server
    connections PgBouncer opened before keep their values until it recycles them)."""
    with psycopg.connect(bouncer.pooled(database_url), autocommit=True) as conn:
        timeout = conn.execute("SHOW statement_timeout").fetchone()
        conn.execute("SELECT '[1]'::vector")  # loads pgvector, which defines hnsw.*
        scan = conn.execute("SHOW hnsw.iterative_scan").fetchone()
    assert timeout == ("15s",)
    assert scan == ("relaxed_order",)


def test_the_server_connects_through_the_pooler_and_listens_directly(
    pooled_server: LiveServer, bouncer: PgBouncer, database_url: str
) -> None:
    with httpx.Client(base_url=pooled_server.url, timeout=30) as client:
        assert client.get("/ready").status_code == 200
    with psycopg.connect(bouncer.admin_url, autocommit=True) as admin:
        clients = admin.execute("SHOW CLIENTS").fetchall()
        columns = [c.name for c in admin.execute("SHOW CLIENTS").description or []]
    database = database_url.split("/")[-1].split("?")[0]
    by_app = {
        row[columns.index("application_name")]
        for row in clients
        if row[columns.index("database")] == database
    }
    assert "phiacta" in by_app
    assert "phiacta-listener" not in by_app
    with psycopg.connect(database_url, autocommit=True) as direct:
        listeners = direct.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'phiacta-listener' AND datname = current_database()"
        ).fetchone()
    assert listeners is not None and listeners[0] >= 1
