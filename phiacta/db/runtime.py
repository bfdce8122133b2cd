"""Which database to use: DATABASE_URL when set, else the embedded server.

Ownership of the embedded server: the process that starts it stops it; a process that
finds it running (adopts it) never does. One `phiacta serve` at a time may use a data
folder: it holds an exclusive lock on `serve.lock` there for as long as it runs, and a
second one is refused with a message before it touches the database. A one-shot command
that started the server while a `serve` came to use it leaves it running for that serve.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import structlog

from phiacta.config import Settings
from phiacta.db import admin
from phiacta.db.embedded import EmbeddedPostgres

log = structlog.get_logger(__name__)

EMBEDDED_DATABASE = "phiacta"
SERVE_LOCK_FILE = "serve.lock"


class DataDirInUse(RuntimeError):
    """Another `phiacta serve` already serves from this data folder."""


@dataclass(frozen=True)
class Database:
    """The database in use; `embedded` is set when this process started the server."""

    url: str
    embedded: EmbeddedPostgres | None = None
    data_dir: Path | None = None

    def stop_embedded(self, *, serving: bool = False) -> None:
        """Stop the embedded server if this process started it and no other `serve`
        uses it (`serving`: this process is the serve holding the lock)."""
        if self.embedded is None:
            return
        if not serving and self.data_dir is not None and serving_elsewhere(self.data_dir):
            log.info("embedded_postgres_left_running", reason="a phiacta serve uses it")
            return
        self.embedded.stop()


def embedded_server(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.phiacta_data_dir / "postgres")


def open_database(settings: Settings) -> Database:
    """DATABASE_URL when set; otherwise start (or adopt) the embedded server."""
    if settings.database_url:
        return Database(settings.database_url)
    server = embedded_server(settings)
    was_running = server.is_running() if server.pgdata.exists() else False
    server.start()
    admin.ensure_database(server.url(), EMBEDDED_DATABASE)
    return Database(
        server.url(EMBEDDED_DATABASE),
        None if was_running else server,
        settings.phiacta_data_dir,
    )


def resolve_database_url(settings: Settings) -> str:
    """The URL to connect to; an embedded server started for it is left running."""
    return open_database(settings).url


class ServeLock:
    """The data folder's `serve.lock`, held while one `phiacta serve` runs."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / SERVE_LOCK_FILE
        self._file: IO[str] | None = None

    def acquire(self, holder: str) -> None:
        """Hold the lock, or raise DataDirInUse naming the server that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = self.path.open("a+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            other = lock_file.read().strip() or "another process"
            lock_file.close()
            raise DataDirInUse(
                f"{other} already serves from {self.path.parent}; this one would share its "
                "embedded PostgreSQL. Stop that server first, or give this one another "
                "data folder (PHIACTA_DATA_DIR=...)."
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"phiacta serve (pid {os.getpid()}, {holder})\n")
        lock_file.flush()
        self._file = lock_file

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the lock
            self._file = None


def serving_elsewhere(data_dir: Path) -> bool:
    """True while another process holds the data folder's serve lock."""
    path = data_dir / SERVE_LOCK_FILE
    if not path.exists():
        return False
    with path.open("r") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe, fcntl.LOCK_UN)
    return False
