"""Which database to use: DATABASE_URL when set, else the embedded server."""

from __future__ import annotations

from dataclasses import dataclass

from phiacta.config import Settings
from phiacta.db import admin
from phiacta.db.embedded import EmbeddedPostgres

EMBEDDED_DATABASE = "phiacta"


@dataclass(frozen=True)
class Database:
    """The database in use; `embedded` is set when this process started the server."""

    url: str
    embedded: EmbeddedPostgres | None = None

    def stop_embedded(self) -> None:
        if self.embedded is not None:
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
    return Database(server.url(EMBEDDED_DATABASE), None if was_running else server)


def resolve_database_url(settings: Settings) -> str:
    """The URL to connect to; an embedded server started for it is left running."""
    return open_database(settings).url
