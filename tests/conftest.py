"""Shared fixtures: a real PostgreSQL with pgvector, a migrated template, and live servers.

The server is, in order of preference: TEST_DATABASE_URL (an admin URL to a server with
pgvector), a testcontainers `pgvector/pgvector:pg16` container when PHIACTA_TEST_DOCKER=1,
or the embedded server in a temporary folder. Each test module gets its own database,
cloned from a template that alembic migrated once per session.

PHIACTA_TEST_POOLER=pgbouncer runs every test that reaches PostgreSQL again, through
PgBouncer in transaction mode: live servers, in-process (`make_settings`) or `phiacta`
subprocesses (`database_env`), connect through it with DATABASE_POOLER=pgbouncer, LISTEN
and migrations going direct (`make test` runs this pass when the pgbouncer binary is
installed). A test that must bypass the pooler says why with `pytest.mark.direct`.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings as hypothesis_settings

from phiacta.config import Settings, normalize_database_url
from phiacta.db import admin, migrate
from phiacta.db.embedded import EmbeddedPostgres
from phiacta.db.pool import Pool, create_pool
from tests.pgbouncer import POOLER, PgBouncer
from tests.support import (
    ISSUED_SECRETS,
    VALIDATION_WITHOUT_PLACE,
    LiveServer,
    check_error_shape,
    check_json_body,
    make_settings,
    route_through_pooler,
    unique_name,
)

# Generated tests (hypothesis) draw the same examples on every run, so a green suite
# stays green in CI; HYPOTHESIS_PROFILE=explore draws new ones when hunting for cases.
hypothesis_settings.register_profile("phiacta", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False, database=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "phiacta"))

TEST_DIMENSIONS = 384


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Through a pooler, every test that reaches a PostgreSQL server runs again; the
    others (pure units, files, offline CLI) never touch one and are left out."""
    if not POOLER:
        return
    if POOLER != "pgbouncer":
        raise pytest.UsageError(f"PHIACTA_TEST_POOLER={POOLER!r}: only pgbouncer is known")
    kept = [item for item in items if through_the_pooler(item)]
    config.hook.pytest_deselected(items=[item for item in items if not through_the_pooler(item)])
    items[:] = kept


def through_the_pooler(item: pytest.Item) -> bool:
    """Whether the PgBouncer pass runs `item`: it reaches the test server (every database
    fixture asks for pg_admin_url), so any live server it talks to, in-process or
    `phiacta serve`, does too; or it is marked `own_postgres` (it starts a PostgreSQL of
    its own and puts `pgbouncer.own_route` in front of it). A test marked `direct` says
    why it must bypass the pooler. Left out, never reaching PostgreSQL: pure units,
    files, offline CLI, and `phiacta serve` on its own embedded server."""
    if item.get_closest_marker("direct") is not None:
        return False
    if item.get_closest_marker("own_postgres") is not None:
        return True
    return "pg_admin_url" in getattr(item, "fixturenames", ())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "direct(reason): reaches PostgreSQL only directly, never through the PgBouncer "
        "pass (PHIACTA_TEST_POOLER); the reason says why",
    )
    config.addinivalue_line(
        "markers",
        "own_postgres: starts a PostgreSQL of its own, behind a PgBouncer of its own "
        "(tests/pgbouncer.py own_route) in the PgBouncer pass",
    )


def pytest_itemcollected(item: pytest.Item) -> None:
    marker = item.get_closest_marker("direct")
    if marker is not None and not (marker.args and str(marker.args[0]).strip()):
        raise pytest.UsageError(f"{item.nodeid}: pytest.mark.direct needs its reason")


# -- every VALIDATION_FAILED any test reads names its place ----------------------------


@pytest.fixture(scope="session", autouse=True)
def every_validation_error_names_its_place() -> Iterator[None]:
    """Whatever client a test uses (the `client` fixture, its own httpx client, sync or
    async, the SDK), a JSON body it decodes with `Response.json()` is checked: each
    VALIDATION_FAILED error has `details`, each with a non-empty `path`. LiveClient
    checks its WebSocket messages and test_mcp its tools' errors the same way. A
    failure raises where the body is read, and the session fails after the last test
    even if the code that read it swallowed the assertion (a server thread's client)."""
    decode = httpx.Response.json

    def checked(self: httpx.Response, **kwargs: Any) -> Any:
        body = decode(self, **kwargs)
        check_json_body(body)
        return body

    httpx.Response.json = checked  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx.Response.json = decode  # type: ignore[method-assign]
    assert not VALIDATION_WITHOUT_PLACE, VALIDATION_WITHOUT_PLACE


# -- no fragment of an API key in any server's log, over the whole session -------------

KEY_FRAGMENT = 8  # characters in a row of a secret that count as a leak
_SECRET_RUNS = re.compile(f"[A-Za-z0-9_-]{{{KEY_FRAGMENT},}}")


@pytest.fixture(scope="session", autouse=True)
def no_key_fragment_in_server_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the last test: no log written by a test's server (the `server-*.log` files
    of subprocess servers, and what in-process servers logged, copied to a file as
    their handler renders it) holds KEY_FRAGMENT characters of any key secret
    `create_api_key` issued in this session."""
    root = tmp_path_factory.getbasetemp()
    copy = _LogCopy(root / "server-in-process.log")
    logging.getLogger().addHandler(copy)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(copy)
        copy.close()
    leaks = key_fragments_in(sorted(root.rglob("server-*.log")), ISSUED_SECRETS)
    assert not leaks, f"key fragments in server logs: {leaks}"


class _LogCopy(logging.FileHandler):
    """Every record the in-process servers log, rendered by Phiacta's own handler."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8", delay=True)

    def filter(self, record: logging.LogRecord) -> bool:
        rendering = _phiacta_handler()
        return rendering is not None and bool(rendering.filter(record))

    def format(self, record: logging.LogRecord) -> str:
        rendering = _phiacta_handler()
        return rendering.format(record) if rendering is not None else ""


def _phiacta_handler() -> logging.Handler | None:
    return next((h for h in logging.getLogger().handlers if h.get_name() == "phiacta"), None)


def key_fragments_in(logs: list[Path], secrets: list[str]) -> dict[str, list[str]]:
    """The fragments of `secrets` found in each of `logs`, by file name."""
    fragments = {s[i : i + KEY_FRAGMENT] for s in secrets for i in range(len(s) - KEY_FRAGMENT + 1)}
    found: dict[str, list[str]] = {}
    for log in logs:
        text = log.read_text(errors="replace")
        hits = {
            run[i : i + KEY_FRAGMENT]
            for match in _SECRET_RUNS.finditer(text)
            for run in [match.group()]
            for i in range(len(run) - KEY_FRAGMENT + 1)
        } & fragments
        if hits:
            found[log.name] = sorted(hits)
    return found


@pytest.fixture(scope="session")
def pg_admin_url(pg_server_url: str, pooler: PgBouncer | None) -> str:
    """An admin URL of the test server; under PHIACTA_TEST_POOLER, asking for it also
    starts the PgBouncer every server on its databases goes through."""
    return pg_server_url


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield normalize_database_url(given)
        return
    if os.environ.get("PHIACTA_TEST_DOCKER") == "1":
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("pgvector/pgvector:pg16", driver=None) as container:
            yield normalize_database_url(container.get_connection_url())
        return
    # Not under pytest's temporary root: every pytest session on the machine resets
    # that folder to 0700, and the server's own user (and PgBouncer's, running as it)
    # must reach these paths for as long as the session lasts.
    with tempfile.TemporaryDirectory(prefix="phiacta-test-pg-") as folder:
        server = EmbeddedPostgres(Path(folder))
        server.start()
        try:
            yield server.url()
        finally:
            server.stop()


@pytest.fixture(scope="session")
def template_database(pg_admin_url: str) -> Iterator[str]:
    name = unique_name("phiacta_template")
    admin.create_database(pg_admin_url, name)
    migrate.upgrade(admin.with_database(pg_admin_url, name), TEST_DIMENSIONS)
    yield name
    admin.drop_database(pg_admin_url, name)


@pytest.fixture(scope="module")
def database_url(pg_admin_url: str, template_database: str) -> Iterator[str]:
    """A migrated database of this test module's own."""
    name = unique_name("phiacta_test")
    admin.create_database(pg_admin_url, name, template=template_database)
    yield admin.with_database(pg_admin_url, name)
    admin.drop_database(pg_admin_url, name)


@pytest.fixture
def empty_database_url(pg_admin_url: str) -> Iterator[str]:
    """A database with nothing in it, not even the migrations."""
    name = unique_name("phiacta_empty")
    admin.create_database(pg_admin_url, name)
    yield admin.with_database(pg_admin_url, name)
    admin.drop_database(pg_admin_url, name)


@pytest.fixture(scope="session")
def pooler(pg_server_url: str) -> Iterator[PgBouncer | None]:
    """The PgBouncer in front of the test server when PHIACTA_TEST_POOLER asks for one;
    while it runs, every `make_settings` for the test server goes through it."""
    if not POOLER:
        yield None
        return
    with PgBouncer.run(pg_server_url) as bouncer:
        route_through_pooler(bouncer.route)
        try:
            yield bouncer
        finally:
            route_through_pooler(None)


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer.run(settings) as live:
        yield live


@pytest.fixture
async def pool(settings: Settings, database_url: str) -> AsyncIterator[Pool]:
    """An open connection pool on the module's database, as the server makes it."""
    pool = create_pool(settings, database_url)
    await pool.open()
    yield pool
    await pool.close()


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    hooks = {"response": [check_error_shape]}
    with httpx.Client(base_url=server.url, timeout=30, event_hooks=hooks) as http:
        yield http


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / f"data-{uuid.uuid4().hex[:8]}"
