"""The Starlette application: routes, middleware and the lifespan that owns the pool."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

import psycopg
import structlog
from psycopg_pool import PoolTimeout
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from phiacta.auth import ratelimit
from phiacta.auth.authenticate import AttemptLimit, Authenticator
from phiacta.auth.pepper import resolve_pepper
from phiacta.auth.ratelimit import create_rate_limiter, limit_for
from phiacta.config import Settings, load_settings
from phiacta.db import migrate
from phiacta.db.pool import create_pool
from phiacta.db.pooler import apply_session_defaults
from phiacta.db.replicas import ReadRouter
from phiacta.db.runtime import resolve_database_url
from phiacta.db.view_refresher import ViewRefresher
from phiacta.embeddings import create_provider
from phiacta.events.live import live_updates
from phiacta.graphiql.page import serve_asset
from phiacta.graphql.schema import build_schema
from phiacta.graphql.view import GraphQLView
from phiacta.mcp.transports import MCP_PATH, McpEndpoint
from phiacta.middleware import RequestIdMiddleware
from phiacta.observability import metrics
from phiacta.observability.access import AccessLogMiddleware
from phiacta.observability.logging import configure_logging
from phiacta.services import Services
from phiacta.transfer.http import export_endpoint

log = structlog.get_logger(__name__)

READY_TIMEOUT_SECONDS = 3.0
GC_YOUNG_THRESHOLD = 50_000


def _retrieve(task: asyncio.Task[str | None]) -> None:
    """Mark a probe's error as seen: the request that waited for it may have gone."""
    if not task.cancelled():
        task.exception()


async def health(request: Request) -> JSONResponse:
    """Liveness: the process answers. Touches no dependency."""
    return JSONResponse({"status": "ok"})


async def _probe(services: Services) -> str | None:
    """The schema revision, or the probe's error; a failed probe then drops the
    connections that died with the server, so the next one reconnects."""
    try:
        async with services.pool.connection(timeout=READY_TIMEOUT_SECONDS) as conn:
            return await migrate.current_revision(conn)
    except (psycopg.Error, PoolTimeout):
        with contextlib.suppress(Exception):
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await services.pool.check()
        raise


async def ready(request: Request) -> JSONResponse:
    """Readiness: the database answers and its schema is at the migrations' head.

    Answers within READY_TIMEOUT_SECONDS whatever the database does: the probe runs as
    a task of its own that is waited for that long, not cancelled, and one runs at a
    time (checks that arrive while it runs wait for its answer). Behind PgBouncer a
    dead server's connections do not fail: each waits for PgBouncer's next login
    (server_login_retry), and cancelling such a query did not answer within a client's
    5 s either (tests/test_health.py, run beside another file)."""
    services: Services = request.app.state.services
    state = request.app.state
    probe: asyncio.Task[str | None] | None = getattr(state, "ready_probe", None)
    try:
        if probe is None or probe.done():
            probe = asyncio.create_task(_probe(services), name="phiacta-ready-probe")
            probe.add_done_callback(_retrieve)
            state.ready_probe = probe
        current = await asyncio.wait_for(asyncio.shield(probe), READY_TIMEOUT_SECONDS)
    except (psycopg.Error, PoolTimeout, TimeoutError) as exc:
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
    if services.reads.enabled:
        # Reported, not required: without replicas the primary serves every read.
        body["replicas"] = services.reads.report()
    if migrate.is_behind(current, services.head_revision):
        body |= {"status": "unavailable", "migrations": "pending"}
        return JSONResponse(body, status_code=503)
    return JSONResponse(body | {"status": "ok"})


# What browsers let a page read: the request id and the rate-limit state.
EXPOSED_HEADERS = [
    "X-Request-ID",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "X-Phiacta-LSN",
]


def _cors(settings: Settings) -> Middleware:
    # Development allows every origin; production only CORS_ORIGINS. Credentials are
    # never combined with a wildcard origin.
    if settings.is_development:
        return Middleware(
            CORSMiddleware,
            allow_origin_regex=".*",
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        )
    return Middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["*"],
        allow_credentials="*" not in settings.cors_origins,
        expose_headers=EXPOSED_HEADERS,
    )


def create_app(settings: Settings | None = None, log_stream: TextIO | None = None) -> Starlette:
    """The ASGI app. Without `settings`, they are read from the environment. Logs go
    to `log_stream`, stdout by default (`phiacta mcp` keeps stdout for the protocol)."""
    settings = settings or load_settings()
    configure_logging(settings, log_stream)
    head = migrate.head_revision()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        url = await asyncio.to_thread(resolve_database_url, settings)
        # Behind a pooler, LISTEN and migrations (session-long) take a direct connection.
        direct_url = settings.database_listen_url or url
        if settings.is_development:
            await asyncio.to_thread(migrate.upgrade, direct_url, settings.embedding_dimensions)
        if settings.behind_pooler:
            await apply_session_defaults(settings, url)
        pool = create_pool(settings, url)
        await pool.open(wait=False)
        reads = ReadRouter.from_settings(settings, pool)
        await reads.open()
        refresher = ViewRefresher(settings.matview_refresh_seconds)
        limiter = create_rate_limiter(settings)
        app.state.services = Services(
            settings=settings,
            pool=pool,
            head_revision=head,
            authenticator=Authenticator(
                pool,
                resolve_pepper(settings),
                AttemptLimit(limiter, limit_for(ratelimit.AUTH, settings, None))
                if settings.rate_limit_enabled
                else None,
            ),
            reads=reads,
            rate_limiter=limiter,
            view_refresher=refresher,
            # Loads its model on first use, so creating it costs nothing at start-up.
            embedder=create_provider(settings),
        )
        background = []
        if refresher.enabled:
            background.append(asyncio.create_task(refresher.run(pool)))
        if metrics.multiprocess_enabled():
            background.append(asyncio.create_task(metrics.publish_pool_stats(pool)))
        # Everything allocated so far lives as long as the process: moving it out of the
        # collector's generations keeps full collections (and their pauses) short.
        gc.collect()
        gc.freeze()
        # A request allocates thousands of short-lived objects; with the default
        # threshold (700) the young generation is collected every few requests and the
        # older ones often enough that their pauses show in the latency tail.
        gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
        log.info("server_started", environment=settings.environment)
        try:
            async with live_updates(app.state.services, direct_url), mcp.lifespan():
                yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await app.state.services.rate_limiter.close()
            await reads.close()
            await pool.close()
            if app.state.services.embedder is not None:
                await app.state.services.embedder.aclose()
            metrics.mark_process_dead(os.getpid())

    graphql = GraphQLView(build_schema(settings), settings, graphql_ide="graphiql", keep_alive=True)
    mcp = McpEndpoint(graphql.operations, settings)
    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
            Route("/metrics", metrics.metrics_endpoint, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/graphiql/{path:path}", serve_asset, methods=["GET"]),
            WebSocketRoute("/graphql", graphql),
            Route(MCP_PATH, mcp, methods=["GET", "POST", "DELETE"]),
            Route("/export/{format}", export_endpoint, methods=["GET"]),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(AccessLogMiddleware),
            _cors(settings),
        ],
        lifespan=lifespan,
    )
    app.state.mcp = mcp
    return app
