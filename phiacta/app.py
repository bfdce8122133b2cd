"""The Starlette application: routes, middleware and the lifespan that owns the pool."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import structlog
from psycopg_pool import PoolTimeout
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from phiacta.auth.authenticate import Authenticator
from phiacta.auth.pepper import resolve_pepper
from phiacta.config import Settings, load_settings
from phiacta.db import migrate
from phiacta.db.pool import create_pool
from phiacta.db.runtime import resolve_database_url
from phiacta.graphql.schema import build_schema
from phiacta.graphql.view import GraphQLView
from phiacta.middleware import RequestIdMiddleware
from phiacta.services import Services

log = structlog.get_logger(__name__)

READY_TIMEOUT_SECONDS = 3.0


async def health(request: Request) -> JSONResponse:
    """Liveness: the process answers. Touches no dependency."""
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    """Readiness: the database answers and its schema is at the migrations' head."""
    services: Services = request.app.state.services
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            async with services.pool.connection(timeout=READY_TIMEOUT_SECONDS) as conn:
                current = await migrate.current_revision(conn)
    except (psycopg.Error, PoolTimeout, TimeoutError) as exc:
        # Drop connections that died with the server so the next probe reconnects.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await services.pool.check()
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "unreachable",
                "error": type(exc).__name__,
            },
            status_code=503,
        )
    body: dict[str, object] = {
        "database": "ok",
        "revision": current,
        "head": services.head_revision,
    }
    if migrate.is_behind(current, services.head_revision):
        body |= {"status": "unavailable", "migrations": "pending"}
        return JSONResponse(body, status_code=503)
    return JSONResponse(body | {"status": "ok"})


def _cors(settings: Settings) -> Middleware:
    # Development allows every origin; production only CORS_ORIGINS. Credentials are
    # never combined with a wildcard origin.
    if settings.is_development:
        return Middleware(
            CORSMiddleware,
            allow_origin_regex=".*",
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    return Middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["*"],
        allow_credentials="*" not in settings.cors_origins,
        expose_headers=["X-Request-ID"],
    )


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI app. Without `settings`, they are read from the environment."""
    settings = settings or load_settings()
    head = migrate.head_revision()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        url = await asyncio.to_thread(resolve_database_url, settings)
        if settings.is_development:
            await asyncio.to_thread(migrate.upgrade, url, settings.embedding_dimensions)
        pool = create_pool(settings, url)
        await pool.open(wait=False)
        app.state.services = Services(
            settings=settings,
            pool=pool,
            head_revision=head,
            authenticator=Authenticator(pool, resolve_pepper(settings)),
        )
        log.info("server_started", environment=settings.environment)
        try:
            yield
        finally:
            await pool.close()

    graphql = GraphQLView(build_schema(), graphql_ide="graphiql")
    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        middleware=[Middleware(RequestIdMiddleware), _cors(settings)],
        lifespan=lifespan,
    )
