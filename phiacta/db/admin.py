"""Creating and dropping whole databases (for the embedded server, tests and restores).

These statements cannot run inside a transaction, so each opens its own autocommit
connection to the server's maintenance database.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

from phiacta.store import server as server_store


def with_database(url: str, database: str) -> str:
    """The same server and credentials as the URL `url`, but database `database`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(database, safe="")))


def database_exists(admin_url: str, name: str) -> bool:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return server_store.database_exists(conn, name)


def create_database(admin_url: str, name: str, *, template: str | None = None) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        server_store.create_database(conn, name, template=template)


def ensure_database(admin_url: str, name: str) -> None:
    if not database_exists(admin_url, name):
        create_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        server_store.drop_database(conn, name)
