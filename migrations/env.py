"""Alembic environment: raw-SQL migrations over a psycopg connection, one at a time.

The database URL and the embedding dimension come from the caller (the migration
runner puts them in `config.attributes`) or, for a bare `alembic upgrade head`, from the
settings, starting the embedded server when DATABASE_URL is unset.
"""

from __future__ import annotations

import psycopg
from alembic import context
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from phiacta.db.migrate import MIGRATION_LOCK_ID

config = context.config


def _target() -> tuple[str, int]:
    url = config.attributes.get("database_url")
    dimensions = config.attributes.get("embedding_dimensions")
    if url is None or dimensions is None:
        from phiacta.config import load_settings
        from phiacta.db.runtime import resolve_database_url

        settings = load_settings()
        url = url or resolve_database_url(settings)
        dimensions = dimensions or settings.embedding_dimensions
        config.attributes["embedding_dimensions"] = dimensions
    return str(url), int(dimensions)


def run_migrations_online() -> None:
    url, _ = _target()
    engine = create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(url), poolclass=NullPool
    )
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=False)
        with context.begin_transaction():
            # Replicas starting together in development all try to migrate; the lock
            # makes the others wait and then find the schema already at head.
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: the SQL needs a connection")
run_migrations_online()
