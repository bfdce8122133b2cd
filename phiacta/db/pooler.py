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
from psycopg import sql

from phiacta.config import Settings
from phiacta.db.pool import HNSW_ITERATIVE_SCAN

log = structlog.get_logger(__name__)

ROLE_SETTINGS = """
SELECT coalesce(s.setconfig, '{}')
FROM pg_roles r
CROSS JOIN pg_database d
LEFT JOIN pg_db_role_setting s ON s.setrole = r.oid AND s.setdatabase = d.oid
WHERE r.rolname = current_user AND d.datname = current_database()
"""


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
        cur = await conn.execute(ROLE_SETTINGS)
        row = await cur.fetchone()
        current = dict(item.split("=", 1) for item in (row[0] if row else []))
        changed = {name: value for name, value in wanted.items() if current.get(name) != value}
        if not changed:
            return {}
        # One transaction, hence one server connection behind the pooler: reading a
        # vector loads pgvector there, which makes its hnsw.* settings known to ALTER.
        async with conn.transaction():
            has_vector = await conn.execute("SELECT 1 FROM pg_type WHERE typname = 'vector'")
            if await has_vector.fetchone() is None:
                changed.pop("hnsw.iterative_scan", None)
            else:
                await conn.execute("SELECT '[1]'::vector")
            database = await (await conn.execute("SELECT current_database()")).fetchone()
            assert database is not None
            for name, value in changed.items():
                await conn.execute(
                    sql.SQL("ALTER ROLE CURRENT_USER IN DATABASE {} SET {} = {}").format(
                        sql.Identifier(database[0]), sql.SQL(name), sql.Literal(value)
                    )
                )
                # The server connection this ran on was opened before the change and
                # goes back to the pooler's free list: it takes the values too.
                await conn.execute("SELECT set_config(%s, %s, false)", [name, value])
    log.info("pooler_session_defaults_set", settings=changed)
    return changed
