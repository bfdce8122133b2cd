"""The `phiacta` command: serve, migrate, export-schema, db-url."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from phiacta.config import ConfigError, Settings, load_settings

Handler = Callable[[argparse.Namespace, Settings], int]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from phiacta.db.runtime import embedded_server, open_database

    database = open_database(settings)
    # Workers and the reloader are separate processes that read their settings from the
    # environment: hand them the database this process chose (maybe the embedded one).
    os.environ["DATABASE_URL"] = database.url
    try:
        uvicorn.run(
            "phiacta.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=None if args.reload else args.workers,
            reload=args.reload,
            reload_dirs=[str(Path(__file__).resolve().parent)] if args.reload else None,
            log_level=settings.log_level,
            access_log=False,
            proxy_headers=True,
            server_header=False,
        )
    finally:
        if not settings.database_url:
            # `serve` owns the embedded server: Ctrl-C leaves no PostgreSQL behind.
            embedded_server(settings).stop()
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from alembic import command

    from phiacta.db import migrate
    from phiacta.db.runtime import open_database

    database = open_database(settings)
    config = migrate.alembic_config(database.url, settings.embedding_dimensions)
    try:
        if args.action == "upgrade":
            command.upgrade(config, args.revision or "head")
        elif args.action == "downgrade":
            if not args.revision:
                print(
                    "phiacta migrate downgrade needs a revision (e.g. -1 or base)", file=sys.stderr
                )
                return 2
            command.downgrade(config, args.revision)
        elif args.action == "current":
            command.current(config, verbose=args.verbose)
        else:
            command.history(config, verbose=args.verbose)
    finally:
        database.stop_embedded()
    return 0


def _export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from phiacta.graphql.schema import schema_sdl

    sdl = schema_sdl()
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _db_url(args: argparse.Namespace, settings: Settings) -> int:
    from phiacta.db.runtime import resolve_database_url

    # An embedded server started here keeps running so `psql $(phiacta db-url)` works;
    # `phiacta serve` stops it when it exits.
    print(resolve_database_url(settings))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="phiacta", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve GraphQL on /graphql")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--reload", action="store_true", help="restart on code changes")
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="alembic migrations")
    migrate.add_argument("action", choices=["upgrade", "downgrade", "current", "history"])
    migrate.add_argument("revision", nargs="?", help="target revision (upgrade: default head)")
    migrate.add_argument("--verbose", "-v", action="store_true")
    migrate.set_defaults(handler=_migrate)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("output", nargs="?", default="schema.graphql", help="file, or - for stdout")
    export.set_defaults(handler=_export_schema)

    db_url = commands.add_parser("db-url", help="print the database URL in use")
    db_url.set_defaults(handler=_db_url)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"phiacta: configuration error: {exc}", file=sys.stderr)
        return 2
    handler: Handler = args.handler
    return handler(args, settings)
