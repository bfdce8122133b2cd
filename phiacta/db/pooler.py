"""Session settings that survive a transaction pooler (DATABASE_POOLER=pgbouncer).

Without a pooler each pooled connection sets its own `statement_timeout` (a startup
option) and `hnsw.iterative_scan` (a SET) once. PgBouncer in transaction mode refuses
startup options and gives every transaction whichever server connection is free, so a
SET lands on one server connection and is missing on the next. The settings move to
where every server connection picks them up: the role's defaults in this database
(`ALTER ROLE CURRENT_USER IN DATABASE ... SET`), which an ordinary role may change for
itself. The server connection that makes the change takes the values at once; others
the pooler opened before it keep the old values until they are recycled (`RECONNECT` on
PgBouncer's admin console).
"""

from __future__ import annotations

import psycopg
import structlog

from phiacta.config import Settings
from phiacta.db.pool import HNSW_ITERATIVE_SCAN
from phiacta.store import server as server_store

log = structlog.get_logger(__name__)


def session_defaults(settings: Settings) -> dict[str, str]:
    """What each session of the server's role must start with."""
    return {
        "statement_timeout": str(settings.statement_timeout_ms),
        "hnsw.iterative_scan": HNSW_ITERATIVE_SCAN,
    }


async def apply_session_defaults(settings: Settings, conninfo: str) -> dict[str, str]:
    """Make the role's defaults in this database `session_defaults`; returns the ones
    changed. Run through the pooler, so the role is the one it logs in as."""
    wanted = session_defaults(settings)
    async with await psycopg.AsyncConnection.connect(
        conninfo, autocommit=True, prepare_threshold=None
    ) as conn:
        current = await server_store.role_defaults(conn)
        changed = {name: value for name, value in wanted.items() if current.get(name) != value}
        if not changed:
            return {}
        # One transaction, hence one server connection behind the pooler: reading a
        # vector loads pgvector there, which makes its hnsw.* settings known to ALTER.
        async with conn.transaction():
            if not await server_store.has_vector_type(conn):
                changed.pop("hnsw.iterative_scan", None)
            else:
                await server_store.load_vector_library(conn)
            for name, value in changed.items():
                await server_store.set_role_default(conn, name, value)
                # The server connection this ran on was opened before the change and
                # goes back to the pooler's free list: it takes the values too.
                await server_store.set_session(conn, name, value)
    log.info("pooler_session_defaults_set", settings=changed)
    return changed
