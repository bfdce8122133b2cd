"""Health and readiness probes, and what production does about migrations."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psycopg
import pytest

from phiacta.db import admin, migrate
from phiacta.db.embedded import EmbeddedPostgres
from tests.conftest import TEST_DIMENSIONS
from tests.pgbouncer import SERVER_LOGIN_RETRY_SECONDS, own_route
from tests.support import LiveServer, make_settings


def test_health_answers_without_touching_anything(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


def test_ready_reports_the_revision_at_head(client: httpx.Client) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "revision": migrate.head_revision(),
        "head": migrate.head_revision(),
    }


def test_a_client_request_id_is_echoed(client: httpx.Client) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = client.get("/health", headers={"X-Request-ID": trace})
    assert response.headers["x-request-id"] == trace


@pytest.mark.parametrize("given", ["trace-42", "x" + "A" * 43, "a b", "0" * 65])
def test_a_request_id_that_is_not_a_uuid_or_hex_is_replaced(
    client: httpx.Client, given: str
) -> None:
    response = client.get("/health", headers={"X-Request-ID": given})
    assert response.headers["x-request-id"] != given
    assert len(response.headers["x-request-id"]) == 32


@pytest.mark.own_postgres
def test_ready_goes_503_while_the_database_is_down_and_recovers(tmp_path: Path) -> None:
    postgres = EmbeddedPostgres(tmp_path / "own-server")
    postgres.start()
    try:
        admin.create_database(postgres.url(), "phiacta")
        url = postgres.url("phiacta")
        migrate.upgrade(url, TEST_DIMENSIONS)
        with (
            own_route(postgres.url()) as route,
            LiveServer.run(
                make_settings(url, tmp_path / "data", environment="production", route=route)
            ) as live,
            httpx.Client(base_url=live.url) as client,
        ):
            assert client.get("/ready").status_code == 200
            postgres.stop()
            down = client.get("/ready")
            assert down.status_code == 503
            assert down.json()["database"] == "unreachable"
            assert client.get("/health").status_code == 200
            postgres.start()
            # The pool reconnects on its own; the first probe after the restart may
            # still meet a connection that died with the old server. A PgBouncer
            # that failed to log in tries again only after server_login_retry.
            statuses = [client.get("/ready").status_code for _ in range(3)]
            deadline = time.monotonic() + (SERVER_LOGIN_RETRY_SECONDS + 10 if route else 0)
            while statuses[-1] != 200 and time.monotonic() < deadline:
                time.sleep(0.25)
                statuses.append(client.get("/ready").status_code)
            assert statuses[-1] == 200, statuses
    finally:
        postgres.stop()


def test_production_never_migrates_and_ready_names_the_pending_revision(
    empty_database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(empty_database_url, tmp_path, environment="production")
    with LiveServer.run(settings) as live, httpx.Client(base_url=live.url) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "migrations": "pending",
        "revision": None,
        "head": migrate.head_revision(),
    }
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT to_regclass('claims')").fetchone() == (None,)


def test_development_migrates_on_start(empty_database_url: str, tmp_path: Path) -> None:
    settings = make_settings(empty_database_url, tmp_path, environment="development")
    with LiveServer.run(settings) as live, httpx.Client(base_url=live.url) as client:
        assert client.get("/ready").status_code == 200
