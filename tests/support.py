"""Helpers for tests: live servers in a thread, settings, GraphQL calls."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phiacta.app import create_app
from phiacta.auth.issue import issue_api_key
from phiacta.auth.ratelimit import DEFAULT_LIMITS
from phiacta.config import Settings, load_settings
from phiacta.serving import uvicorn_options
from phiacta.store import agents

STARTUP_TIMEOUT_SECONDS = 60
# Every test process (threads and CLI subprocesses) must hash keys with the same pepper.
TEST_API_KEY_SALT = "test-pepper-0123456789abcdef0123456789abcdef"


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


# Set by conftest.py when PHIACTA_TEST_POOLER runs the suite through a pooler: the
# settings that reach a database of the test server through it (None for a database
# elsewhere, such as the replica tests' own primary).
PoolerRoute = Callable[[str], dict[str, object] | None]
_pooler_route: list[PoolerRoute] = []


def route_through_pooler(route: PoolerRoute | None) -> None:
    """Make `make_settings` reach the test server's databases through a pooler."""
    _pooler_route.clear()
    if route is not None:
        _pooler_route.append(route)


def make_settings(
    database_url: str, data_dir: Path, route: PoolerRoute | None = None, **overrides: object
) -> Settings:
    """Settings for a test server: never read from the developer's environment file.
    Under PHIACTA_TEST_POOLER the server connects through the pooler: the session's, or
    `route` for a PostgreSQL the test started itself (tests/pgbouncer.py own_route)."""
    route = route or (_pooler_route[0] if _pooler_route else None)
    pooled = route(database_url) if route is not None else None
    values: dict[str, object] = {
        "_env_file": None,
        "database_url": database_url,
        "environment": "development",
        "EMBEDDING_PROVIDER": "local",
        "database_pool_size": 2,
        "database_max_overflow": 8,
        "phiacta_data_dir": data_dir,
        "log_level": "warning",
        "api_key_salt": TEST_API_KEY_SALT,
        # Tests send bursts; the rate-limit tests set their own limits.
        "rate_limits": {group: 1_000_000 for group in DEFAULT_LIMITS},
        **(pooled or {}),
    }
    values.update(overrides)
    return load_settings(**values)


def database_env(database_url: str) -> dict[str, str]:
    """The environment a `phiacta` subprocess needs for `database_url`: DATABASE_URL,
    and under PHIACTA_TEST_POOLER the pooler's settings, as `make_settings` gives a
    server in-process."""
    pooled = _pooler_route[0](database_url) if _pooler_route else None
    if not pooled:
        return {"DATABASE_URL": database_url}
    return {
        "DATABASE_URL": str(pooled["database_url"]),
        "DATABASE_POOLER": str(pooled["database_pooler"]),
        "DATABASE_LISTEN_URL": str(pooled["database_listen_url"]),
    }


def settings_env(settings: Settings) -> dict[str, str]:
    """The database environment of `settings` (from `make_settings`) for a `phiacta`
    subprocess on the same route: direct, or through the pooler with LISTEN direct."""
    env = {
        "DATABASE_URL": str(settings.database_url),
        "DATABASE_POOLER": settings.database_pooler,
    }
    if settings.database_listen_url:
        env["DATABASE_LISTEN_URL"] = settings.database_listen_url
    return env


class _StartupSignal:
    """Wraps an ASGI app to tell a waiting thread when its lifespan startup finished."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.done = threading.Event()
        self.failed: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self.done.set()
            elif message["type"] == "lifespan.startup.failed":
                self.failed = str(message.get("message", "startup failed"))
                self.done.set()
            await send(message)

        await self.app(scope, receive, watch)


@dataclass
class LiveServer:
    """A real uvicorn server on 127.0.0.1 in a background thread."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread
    # The Starlette app, for tests that look at its services (e.g. the rate limiter).
    app: ASGIApp | None = None

    @classmethod
    @contextmanager
    def run(cls, settings: Settings) -> Iterator[LiveServer]:
        app = _StartupSignal(create_app(settings))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        # Listening now, before uvicorn takes the socket, lets early clients wait in the
        # backlog instead of being refused while the server finishes starting.
        sock.listen(128)
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="on",
            ws="websockets-sansio",
            # As `phiacta serve` runs it: no per-message compression, its proxy and
            # connection options.
            ws_per_message_deflate=False,
            **uvicorn_options(settings),
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True
        )
        thread.start()
        if not app.done.wait(STARTUP_TIMEOUT_SECONDS) or app.failed:
            server.should_exit = True
            raise RuntimeError(f"test server did not start: {app.failed or 'timeout'}")
        live = cls(url=f"http://127.0.0.1:{port}", server=server, thread=thread, app=app.app)
        try:
            yield live
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            sock.close()

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"


def gql(
    client: httpx.Client,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST a GraphQL operation and return the decoded body (data and errors)."""
    response = client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    check_error_shape(response)
    body: dict[str, Any] = response.json()
    assert response.status_code in (200, 401), response.text
    return body


def check_error_shape(response: httpx.Response) -> None:
    """What every GraphQL answer promises (the `client` fixture checks each response):
    a VALIDATION_FAILED error names the place of each problem in `details`, and an
    UNAUTHENTICATED one is HTTP 401, whether the key was wrong or missing."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return
    response.read()
    try:
        body = response.json()
    except ValueError:
        return
    if not isinstance(body, dict) or not isinstance(body.get("errors"), list):
        return
    check_validation_details(body["errors"])
    if "UNAUTHENTICATED" in error_codes(body):
        assert response.status_code == 401, response.text


# Every VALIDATION_FAILED error a test saw without a place for each problem, whatever
# carried it (conftest's `every_validation_error_names_its_place` fails the session on
# one, even if the code that saw it swallowed the assertion).
VALIDATION_WITHOUT_PLACE: list[dict[str, Any]] = []


def check_validation_details(errors: Any) -> None:
    """Each VALIDATION_FAILED among `errors` (GraphQL errors, or MCP's error objects with
    the code at the top) has `details`, each with a non-empty `path`."""
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        extensions = error.get("extensions") if "extensions" in error else error
        if not isinstance(extensions, dict) or extensions.get("code") != "VALIDATION_FAILED":
            continue
        details = extensions.get("details")
        placed = isinstance(details, list) and bool(details)
        placed = placed and all(
            isinstance(d, dict) and isinstance(d.get("path"), str) and d["path"] for d in details
        )
        if not placed:
            VALIDATION_WITHOUT_PLACE.append(error)
            raise AssertionError(f"VALIDATION_FAILED without a path for each problem: {error}")


def check_json_body(body: Any) -> None:
    """The VALIDATION_FAILED check on any decoded JSON a test reads: a GraphQL response
    (`errors`), a graphql-transport-ws message (`payload`), or a list of either."""
    if isinstance(body, list):
        for item in body:
            check_json_body(item)
        return
    if not isinstance(body, dict):
        return
    check_validation_details(body.get("errors"))
    payload = body.get("payload")
    if body.get("type") == "error":
        check_validation_details(payload)
    elif isinstance(payload, dict):
        check_validation_details(payload.get("errors"))


def data_of(body: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a response that must have no errors."""
    assert not body.get("errors"), body.get("errors")
    data: dict[str, Any] = body["data"]
    return data


def error_codes(body: dict[str, Any]) -> list[str]:
    return [str(e.get("extensions", {}).get("code")) for e in body.get("errors") or []]


# The secret part of every API key `create_api_key` issued in this session (conftest.py
# checks at the end that no server log holds a fragment of one).
ISSUED_SECRETS: list[str] = []


@dataclass(frozen=True)
class ApiKey:
    raw: str
    agent_id: uuid.UUID
    key_id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.raw}"}


def create_api_key(
    database_url: str,
    scopes: list[str],
    *,
    agent_name: str | None = None,
    agent_type: str = "pipeline",
    expires_at: datetime | None = None,
    agent_attrs: dict[str, Any] | None = None,
    rate_limits: dict[str, int] | None = None,
) -> ApiKey:
    """Arrange an agent with a key holding `scopes`, straight through the store."""

    async def arrange() -> ApiKey:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            agent = await agents.insert_agent(
                conn,
                agent_type=agent_type,
                name=agent_name or unique_name("agent"),
                attrs=agent_attrs,
            )
            issued = await issue_api_key(
                conn,
                agent_id=agent.id,
                scopes=scopes,
                pepper=TEST_API_KEY_SALT,
                expires_at=expires_at,
                rate_limits=rate_limits,
            )
        return ApiKey(raw=issued.raw_key, agent_id=agent.id, key_id=issued.row.id)

    key = asyncio.run(arrange())
    ISSUED_SECRETS.append(key.raw.split("_", 2)[2])
    return key
