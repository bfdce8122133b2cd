"""The `phiacta` command: serve the API, load the demo, manage keys, migrate, back up."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from phiacta.config import ConfigError, Settings, load_settings

Handler = Callable[[argparse.Namespace, Settings], int]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from phiacta.db.runtime import DataDirInUse, ServeLock, open_database
    from phiacta.serving import uvicorn_options

    lock = None
    if not settings.database_url:
        lock = ServeLock(settings.phiacta_data_dir)
        try:
            lock.acquire(f"http://{args.host}:{args.port}")
        except DataDirInUse as exc:
            print(f"phiacta serve: {exc}", file=sys.stderr)
            return 1
    database = open_database(settings)
    # Workers and the reloader are separate processes that read their settings from the
    # environment: hand them the database this process chose (maybe the embedded one).
    os.environ["DATABASE_URL"] = database.url
    from phiacta.observability.multiprocess import prepare_multiprocess_dir

    prepare_multiprocess_dir()
    options: dict[str, Any] = {
        "app": "phiacta.app:create_app",
        "factory": True,
        "log_level": settings.log_level,
        # Logging is Phiacta's (structlog, one format for every line); uvicorn's own
        # config would add a second, unstructured handler.
        "log_config": None,
        "access_log": False,
        **uvicorn_options(settings),
        # Subscription messages are small JSON: compressing each one per socket costs
        # more CPU than it saves bandwidth when fanning out to many clients.
        "ws_per_message_deflate": False,
    }
    try:
        if args.workers > 1 and not args.reload:
            from phiacta.observability.logging import configure_logging
            from phiacta.serving import serve_balanced

            configure_logging(settings)
            serve_balanced(args.host, args.port, args.workers, options)
        else:
            uvicorn.run(
                **options,
                host=args.host,
                port=args.port,
                reload=args.reload,
                reload_dirs=[str(Path(__file__).resolve().parent)] if args.reload else None,
            )
    finally:
        # Only a server this process started is stopped; an adopted one keeps running.
        database.stop_embedded(serving=True)
        if lock is not None:
            lock.release()
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


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from phiacta.db import backup
    from phiacta.db.runtime import open_database

    target = Path(args.file or backup.default_backup_name())
    database = open_database(settings)
    try:
        written = backup.backup(database.url, target)
    except backup.BackupError as exc:
        print(f"phiacta backup: {exc}", file=sys.stderr)
        return 1
    finally:
        database.stop_embedded()
    print(written)
    return 0


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    from phiacta.db import backup
    from phiacta.db.runtime import open_database

    database = open_database(settings)
    try:
        backup.restore(database.url, Path(args.file))
    except backup.BackupError as exc:
        print(f"phiacta restore: {exc}", file=sys.stderr)
        return 1
    finally:
        database.stop_embedded()
    print(f"restored {args.file}", file=sys.stderr)
    return 0


def _refresh_views(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    import psycopg

    from phiacta.db.runtime import open_database
    from phiacta.store.views import refresh_materialized_views

    async def refresh(url: str) -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await refresh_materialized_views(conn)

    database = open_database(settings)
    try:
        asyncio.run(refresh(database.url))
    finally:
        database.stop_embedded()
    return 0


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from phiacta.extensions.commands import run_ingest_paths

    return run_ingest_paths(
        settings,
        [Path(p) for p in args.paths],
        extension=args.extension,
        agent_name=args.agent,
        server=args.server,
        key=args.key,
    )


def _embed(args: argparse.Namespace, settings: Settings) -> int:
    from phiacta.ingest.commands import run_embed_missing

    if not args.missing:
        print("phiacta embed: say what to embed (--missing)", file=sys.stderr)
        return 2
    return run_embed_missing(settings, args.batch_size)


def _events(args: argparse.Namespace, settings: Settings) -> int:
    from phiacta.events.prune import run_prune_command

    return run_prune_command(settings, args.older_than_days)


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from phiacta.transfer.commands import run_export

    options = {
        "namespace": args.namespace,
        "source": args.source,
        "createdAfter": args.created_after,
        "createdBefore": args.created_before,
        "latestOnly": "true" if args.latest_only else None,
    }
    return run_export(settings, args.format, args.output, options, not args.no_progress, args.jobs)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from phiacta.transfer.commands import run_import

    return run_import(settings, Path(args.file), args.format, not args.no_progress)


def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    from phiacta.mcp.transports import run_stdio

    return run_stdio(settings, args.url, args.api_key)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from phiacta.demo.load import run_demo

    return run_demo(settings)


def _apikey(args: argparse.Namespace, settings: Settings) -> int:
    from phiacta.auth.commands import run_command

    options = {k: v for k, v in vars(args).items() if k not in ("command", "action", "handler")}
    return run_command(settings, args.action, **options)


# One example per command, shown at the end of its --help.
EXAMPLES = {
    "serve": "phiacta serve --port 8080 --workers 2",
    "migrate": "phiacta migrate upgrade head",
    "export-schema": "phiacta export-schema - > schema.graphql",
    "db-url": 'psql "$(phiacta db-url)"',
    "apikey": "phiacta apikey create --agent paper-bot --scopes bundles:write,claims:read",
    "backup": "phiacta backup /backups/phiacta.dump",
    "restore": "phiacta restore /backups/phiacta.dump",
    "refresh-views": "phiacta refresh-views",
    "ingest": "phiacta ingest paper.json --agent paper-bot",
    "embed": "phiacta embed --missing",
    "events": "phiacta events prune --older-than-days 30",
    "demo": "phiacta demo",
    "export": "phiacta export ndjson -o knowledge.ndjson --latest-only",
    "import": "phiacta import knowledge.ndjson",
    "mcp": "phiacta mcp --url http://127.0.0.1:8000 --api-key phk_...",
}
APIKEY_EXAMPLES = {
    "create": "phiacta apikey create --agent paper-bot --scopes bundles:write --expires 90d",
    "list": "phiacta apikey list --agent paper-bot",
    "revoke": "phiacta apikey revoke phk_abc123",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("phiacta")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _add_examples(commands: Any, examples: dict[str, str]) -> None:
    for name, sub in commands.choices.items():
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
        sub.epilog = f"example:\n  {examples[name]}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phiacta",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  phiacta serve    (then open http://127.0.0.1:8000/graphql)\n"
        "Each command has its own --help.",
    )
    parser.add_argument("--version", action="version", version=f"phiacta {_version()}")
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

    apikey = commands.add_parser("apikey", help="create, list or revoke API keys")
    apikey_actions = apikey.add_subparsers(dest="action", required=True)
    create = apikey_actions.add_parser(
        "create", help="create a key (and its agent if missing); prints the key once"
    )
    create.add_argument("--agent", required=True, help="agent name")
    create.add_argument("--scopes", required=True, help="e.g. claims:read,bundles:write")
    create.add_argument(
        "--agent-type",
        choices=["human", "ai", "organization", "pipeline", "extension"],
        help="type of a new agent (default: pipeline)",
    )
    create.add_argument("--expires", help="a duration (30d, 12h) or an ISO time")
    create.add_argument("--name", help="a label for the key (default: the agent name)")
    listing = apikey_actions.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--agent", help="only this agent's keys")
    revoke = apikey_actions.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key", help="the key's id or its public prefix")
    apikey.set_defaults(handler=_apikey)

    backup = commands.add_parser("backup", help="pg_dump -Fc the database to FILE")
    backup.add_argument("file", nargs="?", help="default: phiacta-YYYYMMDD-HHMMSS.dump")
    backup.set_defaults(handler=_backup)

    restore = commands.add_parser("restore", help="pg_restore a backup over the database")
    restore.add_argument("file")
    restore.set_defaults(handler=_restore)

    refresh = commands.add_parser(
        "refresh-views", help="refresh the materialized views (CONCURRENTLY)"
    )
    refresh.set_defaults(handler=_refresh_views)

    ingest = commands.add_parser(
        "ingest",
        help="ingest papers, manual-entry files or bundle JSON files (files or folders)",
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument(
        "--extension",
        choices=["paper-ingestion", "manual-entry", "bundle"],
        help="the extension that reads the files (detected from each file when omitted)",
    )
    ingest.add_argument(
        "--agent", default="phiacta-ingest", help="the submitting agent's name (bundle files)"
    )
    ingest.add_argument("--server", help="ingest through this running server (with --key)")
    ingest.add_argument("--key", help="the API key for --server")
    ingest.set_defaults(handler=_ingest)

    embed = commands.add_parser("embed", help="make embeddings the write path could not")
    embed.add_argument("--missing", action="store_true", help="claims stored without one")
    embed.add_argument("--batch-size", type=int, default=256)
    embed.set_defaults(handler=_embed)

    events = commands.add_parser("events", help="maintain the event outbox")
    events.add_argument("action", choices=["prune"])
    events.add_argument(
        "--older-than-days",
        type=float,
        default=None,
        help="delete events older than this (default: EVENTS_RETENTION_DAYS)",
    )
    events.set_defaults(handler=_events)

    dump = commands.add_parser("export", help="export the knowledge (ndjson, jsonld, ...)")
    dump.add_argument(
        "format", choices=["ndjson", "jsonld", "turtle", "ntriples", "trig", "bibtex", "csljson"]
    )
    dump.add_argument("-o", "--output", help="file to write (default stdout)")
    dump.add_argument("--namespace", help="dotted path: that namespace and its subtree")
    dump.add_argument("--source", help="only claims with provenance from this source id")
    dump.add_argument("--created-after", help="ISO time: claims created at or after it")
    dump.add_argument("--created-before", help="ISO time: claims created before it")
    dump.add_argument("--latest-only", action="store_true", help="latest versions only")
    dump.add_argument("--no-progress", action="store_true", help="no progress bar")
    dump.add_argument(
        "--jobs",
        type=int,
        default=2,
        choices=range(1, 9),
        metavar="N",
        help="ndjson: database connections making the lines at once, 1..8 (default 2)",
    )
    dump.set_defaults(handler=_export)

    load = commands.add_parser("import", help="import an ndjson or trig export")
    load.add_argument("file")
    load.add_argument("--format", choices=["ndjson", "trig"], help="default: by extension")
    load.add_argument("--no-progress", action="store_true", help="no progress bar")
    load.set_defaults(handler=_import)

    mcp = commands.add_parser("mcp", help="serve the MCP tools on stdio (for desktop agent apps)")
    mcp.add_argument(
        "--url", help="a Phiacta server to call (default PHIACTA_URL; else the local database)"
    )
    mcp.add_argument("--api-key", help="the key to act with (default PHIACTA_API_KEY)")
    mcp.set_defaults(handler=_mcp)

    demo = commands.add_parser(
        "demo", help="load the demo graph (idempotent: a second run writes nothing)"
    )
    demo.set_defaults(handler=_demo)
    _add_examples(commands, EXAMPLES)
    _add_examples(apikey_actions, APIKEY_EXAMPLES)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"phiacta: configuration error: {exc}", file=sys.stderr)
        return 2
    settings = _configure_logging(args.command, settings)
    handler: Handler = args.handler
    return handler(args, settings)


def _configure_logging(command: str, settings: Settings) -> Settings:
    """Logs for whoever reads them. The server logs to stdout (what containers collect),
    as JSON unless LOG_FORMAT says otherwise or a person watches the terminal. Other
    commands keep stdout for their output (`psql $(phiacta db-url)`) and log to stderr,
    for a person: readable lines, warnings and audit lines only, unless LOG_FORMAT or
    LOG_LEVEL are set."""
    from phiacta.observability.logging import configure_logging

    serving = command == "serve"
    stream = sys.stdout if serving else sys.stderr
    chosen = settings.model_fields_set
    update: dict[str, object] = {}
    if "log_format" not in chosen and (not serving or stream.isatty()):
        update["log_format"] = "console"
        if serving:  # its workers read their settings from the environment
            os.environ["LOG_FORMAT"] = "console"
    if "log_level" not in chosen and not serving:
        update["log_level"] = "warning"
    settings = settings.model_copy(update=update)
    configure_logging(settings, stream)
    return settings
