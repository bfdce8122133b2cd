"""Running alembic from Python: upgrade, downgrade, and where a database stands.

The migrations live in `migrations/` beside the package (or inside the wheel as
`phiacta/_migrations`). Callers pass the database URL and the embedding dimension, so
alembic never reads settings of its own when driven from here.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from phiacta.store import server as server_store

# Any constant works; it only has to be the same for every process migrating one database.
MIGRATION_LOCK_ID = 7_368_120_001


def migrations_dir() -> Path:
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("the migrations folder is missing from this installation")


def alembic_config(
    database_url: str | None = None, embedding_dimensions: int | None = None
) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    if embedding_dimensions is not None:
        config.attributes["embedding_dimensions"] = embedding_dimensions
    return config


def upgrade(database_url: str, embedding_dimensions: int, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url, embedding_dimensions), revision)


def downgrade(database_url: str, embedding_dimensions: int, revision: str) -> None:
    command.downgrade(alembic_config(database_url, embedding_dimensions), revision)


def head_revision() -> str:
    heads = _scripts().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads; merge them first")
    return heads[0]


def is_behind(current: str | None, head: str) -> bool:
    """Whether the database still lacks migrations this code needs.

    A revision this code does not know is newer than it (the migration Job of a rollout
    ran first): the old replicas keep serving until they are replaced, so that is not
    "behind".
    """
    if current is None:
        return True
    if current == head:
        return False
    known = {script.revision for script in _scripts().walk_revisions()}
    return current in known


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


async def current_revision(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> str | None:
    return await server_store.alembic_revision(conn)
