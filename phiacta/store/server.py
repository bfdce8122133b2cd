"""Statements about the database server and the session rather than the graph: whether
pgvector is installed, session settings and the role's defaults, whole databases, the
migrations' revision, WAL positions of a primary and its standbys, and LISTEN.

The connection plumbing (`phiacta.db`) and the event bus call these, so every statement
the application sends lives under `phiacta/store/` (tests/test_sql_home.py checks it).
"""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from phiacta.store import Connection

# ---------------------------------------------------------------------------------------
# Extensions and session settings
# ---------------------------------------------------------------------------------------


async def has_vector_type(conn: psycopg.AsyncConnection[TupleRow]) -> bool:
    """Whether pgvector's type exists here (only once the first migration ran)."""
    cur = await conn.execute("SELECT 1 FROM pg_type WHERE typname = 'vector'")
    return await cur.fetchone() is not None


async def load_vector_library(conn: psycopg.AsyncConnection[TupleRow]) -> None:
    """Read a vector, which loads pgvector in this server connection and so makes its
    `hnsw.*` settings known there."""
    await conn.execute("SELECT '[1]'::vector")


async def set_session(conn: psycopg.AsyncConnection[TupleRow], name: str, value: str) -> None:
    """This session's `name` = `value` (a setting name, never a request's input)."""
    await conn.execute("SELECT set_config(%s, %s, false)", [name, value])


async def role_defaults(conn: psycopg.AsyncConnection[TupleRow]) -> dict[str, str]:
    """The current role's settings in the current database (`ALTER ROLE ... SET`)."""
    cur = await conn.execute(
        """
        SELECT coalesce(s.setconfig, '{}')
        FROM pg_roles r
        CROSS JOIN pg_database d
        LEFT JOIN pg_db_role_setting s ON s.setrole = r.oid AND s.setdatabase = d.oid
        WHERE r.rolname = current_user AND d.datname = current_database()
        """
    )
    row = await cur.fetchone()
    return dict(item.split("=", 1) for item in (row[0] if row else []))


async def set_role_default(conn: psycopg.AsyncConnection[TupleRow], name: str, value: str) -> None:
    """Make `name` = `value` the current role's default in the current database, for the
    sessions it opens from now on. `name` is a setting name of ours, never input."""
    cur = await conn.execute("SELECT current_database()")
    database = await cur.fetchone()
    assert database is not None
    await conn.execute(
        sql.SQL("ALTER ROLE CURRENT_USER IN DATABASE {} SET {} = {}").format(
            sql.Identifier(database[0]), sql.SQL(name), sql.Literal(value)
        )
    )


# ---------------------------------------------------------------------------------------
# Whole databases (autocommit connections to the maintenance database)
# ---------------------------------------------------------------------------------------


def database_exists(conn: psycopg.Connection[TupleRow], name: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def create_database(
    conn: psycopg.Connection[TupleRow], name: str, *, template: str | None = None
) -> None:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    conn.execute(statement)


def drop_database(conn: psycopg.Connection[TupleRow], name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# ---------------------------------------------------------------------------------------
# Migrations
# ---------------------------------------------------------------------------------------


async def alembic_revision(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> str | None:
    """The revision Alembic recorded, or None before the first migration."""
    exists = await (
        await conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
    ).fetchone()
    if not exists or not exists[0]:
        return None
    row = await (await conn.execute("SELECT version_num FROM alembic_version")).fetchone()
    return str(row[0]) if row else None


# ---------------------------------------------------------------------------------------
# Replication
# ---------------------------------------------------------------------------------------


async def write_position(conn: Connection) -> str:
    """Where the primary's WAL insertion stands: at or past the end of every commit that
    returned before it is read (pg_current_wal_lsn() may trail it without a flush)."""
    cur = await conn.execute("SELECT pg_current_wal_insert_lsn()::text")
    row = await cur.fetchone()
    assert row is not None
    return str(row[0])


async def standby_status(conn: Connection) -> tuple[bool, str | None, float]:
    """Whether the server is a standby, its replay position and its lag in ms by
    PostgreSQL's reckoning: zero while everything received is replayed, otherwise the
    age of the last transaction replayed (the router uses it only before it has
    sampled the primary: `ReadRouter.lag_ms`)."""
    cur = await conn.execute(
        """
        SELECT pg_is_in_recovery(),
               pg_last_wal_replay_lsn()::text,
               CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
                    THEN 0
                    ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
                         * 1000
               END::float8
        """
    )
    row = await cur.fetchone()
    assert row is not None
    return bool(row[0]), row[1], float(row[2])


# ---------------------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------------------


async def listen(conn: Connection, channel: str) -> None:
    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
