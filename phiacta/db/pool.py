"""The connection pool: async psycopg 3 connections with pgvector types registered.

One pool per process, created by the app's lifespan and passed to whoever needs it;
nothing here is global. Connections whose server side died are replaced as they are
handed out (`CheckedPool`).
"""

from __future__ import annotations

import select

import psycopg
from pgvector.psycopg import register_vector_async
from psycopg.rows import TupleRow
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool

from phiacta import jsoncodec
from phiacta.config import Settings
from phiacta.observability.sql import TimedCursor
from phiacta.store import server as server_store

APPLICATION_NAME = "phiacta"
HNSW_ITERATIVE_SCAN = "relaxed_order"


Pool = AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]
Connection = psycopg.AsyncConnection[TupleRow]


class CheckedPool(AsyncConnectionPool[Connection]):
    """A pool that never hands out a connection whose server side is gone.

    An idle connection whose backend was terminated (`pg_terminate_backend`, a
    PostgreSQL restart, a failover) only learns it on its next query, which then fails:
    a plain pool hands out every such connection once, each failing one request. Here
    a connection is checked as it is handed out, at no cost while all is well: an idle
    connection has nothing to read, so a readable socket (the server's farewell, or the
    end of the stream) is the only case that asks the server (psycopg-pool's
    `check_connection`). A dead one is closed, which makes the pool replace it, and the
    next is tried at once, without the backoff the pool's own `check` callback waits
    between attempts.
    """

    async def getconn(self, timeout: float | None = None) -> Connection:  # noqa: ASYNC109
        for _ in range(self.max_size):
            conn = await super().getconn(timeout)
            if await _usable(conn):
                return conn
            await self.putconn(conn)  # closed: discarded, and a new one is opened
        return await super().getconn(timeout)


async def _usable(conn: Connection) -> bool:
    if conn.closed or conn.broken:
        return False
    poller = select.poll()  # not select(): file descriptors past 1024 are common
    poller.register(conn.fileno(), select.POLLIN)
    if not poller.poll(0):
        return True
    try:
        await AsyncConnectionPool.check_connection(conn)
    except psycopg.Error:
        await conn.close()
        return False
    return True


async def _register_types(conn: psycopg.AsyncConnection[TupleRow]) -> bool:
    """JSON and (once the first migration ran) vector adapters; True when vector exists."""
    set_json_loads(jsoncodec.loads, conn)
    set_json_dumps(jsoncodec.dumps, conn)
    # The vector type exists only once the first migration ran; a connection opened
    # before that (production with pending migrations) simply goes without the adapter.
    has_vector = await server_store.has_vector_type(conn)
    if has_vector:
        await register_vector_async(conn)
    return has_vector


async def _configure(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    if await _register_types(conn):
        # Filtered nearest-neighbour searches (a namespace, no retracted claims) would
        # otherwise return fewer rows than asked once the filter rejects the HNSW scan's
        # first ef_search candidates; iterative scans keep going until the LIMIT is met.
        # Behind a pooler the role carries this setting instead (db/pooler.py).
        await server_store.set_session(conn, "hnsw.iterative_scan", HNSW_ITERATIVE_SCAN)


async def _configure_pooled(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    await _register_types(conn)


def connection_kwargs(settings: Settings) -> dict[str, object]:
    kwargs: dict[str, object] = {
        "application_name": APPLICATION_NAME,
        "autocommit": True,
        # Times every statement for /metrics (and logs it in development at DEBUG).
        "cursor_factory": TimedCursor,
    }
    if settings.behind_pooler:
        # A transaction pooler hands each transaction whichever server connection is
        # free: a statement prepared on one is missing on the next, and the pooler
        # refuses startup options. prepare_threshold=None also overrides prepare=True.
        return kwargs | {"prepare_threshold": None}
    return kwargs | {"options": f"-c statement_timeout={settings.statement_timeout_ms}"}


def create_pool(
    settings: Settings, conninfo: str, *, name: str = "phiacta", timeout: float | None = None
) -> Pool:
    """A pool sized from DATABASE_POOL_SIZE (kept open) plus DATABASE_MAX_OVERFLOW (burst).

    Connections are in autocommit mode: a unit of work that needs a transaction opens
    one explicitly with `conn.transaction()`.
    """
    return CheckedPool(
        conninfo,
        min_size=settings.database_pool_size,
        max_size=settings.pool_max_size,
        timeout=settings.database_pool_timeout if timeout is None else timeout,
        kwargs=connection_kwargs(settings),
        configure=_configure_pooled if settings.behind_pooler else _configure,
        open=False,
        name=name,
    )
