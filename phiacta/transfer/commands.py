"""`phiacta export FORMAT` and `phiacta import FILE`, on the database in use."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import IO

import psycopg
from tqdm import tqdm

from phiacta.config import Settings
from phiacta.db.runtime import open_database
from phiacta.errors import PhiactaError, ValidationFailed
from phiacta.observability.audit import audit_write
from phiacta.store.export import count_selected_claims, export_transaction
from phiacta.transfer.export import format_named, selection_from, stream_export

IMPORT_FORMATS = {".ndjson": "ndjson", ".jsonl": "ndjson", ".trig": "trig"}


def _report_error(command: str, exc: PhiactaError) -> int:
    if isinstance(exc, ValidationFailed):
        for problem in exc.problems:
            print(f"phiacta {command}: {problem}", file=sys.stderr)
    else:
        print(f"phiacta {command}: {exc.code}: {exc.message}", file=sys.stderr)
    return 1


@contextmanager
def _output(path: str | None) -> Iterator[IO[bytes]]:
    if path is None or path == "-":
        yield sys.stdout.buffer
        return
    with open(path, "wb") as file:
        yield file


def run_export(
    settings: Settings,
    format_name: str,
    output: str | None,
    options: dict[str, str | None],
    progress: bool,
    jobs: int = 1,
) -> int:
    try:
        fmt = format_named(format_name)
        selection = selection_from(options)
    except PhiactaError as exc:
        return _report_error("export", exc)

    async def export(url: str) -> int:
        async with AsyncExitStack() as stack:
            conn, *helpers = [
                await stack.enter_async_context(
                    await psycopg.AsyncConnection.connect(url, autocommit=True)
                )
                for _ in range(jobs if fmt.write is None else 1)
            ]
            total = None
            if progress and "source" not in fmt.kinds:
                async with export_transaction(conn):
                    total = await count_selected_claims(conn, selection)
            bar = tqdm(total=total, unit=" claims", disable=not progress, file=sys.stderr)
            with bar, _output(output) as out:
                async for piece in stream_export(conn, fmt, selection, bar.update, helpers):
                    out.write(piece)
        return 0

    database = open_database(settings)
    try:
        return asyncio.run(export(database.url))
    finally:
        database.stop_embedded()


def run_import(settings: Settings, file: Path, format_name: str | None, progress: bool) -> int:
    kind = format_name or IMPORT_FORMATS.get(file.suffix.lower())
    if kind not in ("ndjson", "trig"):
        print(f"phiacta import: say --format ndjson or trig for {file}", file=sys.stderr)
        return 2
    if not file.is_file():
        print(f"phiacta import: no such file: {file}", file=sys.stderr)
        return 2

    # Imported here: the import path reads the bundle path's canonical spelling, whose
    # module brings the embedding stack, which an export does not need.
    from phiacta.transfer.imports import import_records, ndjson_records, trig_records

    async def run(url: str) -> int:
        records = ndjson_records(file) if kind == "ndjson" else trig_records(file)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            with tqdm(unit=" records", disable=not progress, file=sys.stderr) as bar:
                report = await import_records(conn, records, bar.update)
        audit_write(
            operation="import",
            agent_id=None,
            request_id="cli",
            file=str(file),
            written=report.written,
        )
        for name, count in report.read.items():
            if count:
                print(f"{name}: {count} read, {report.written[name]} new")
        return 0

    database = open_database(settings)
    try:
        return asyncio.run(run(database.url))
    except PhiactaError as exc:
        return _report_error("import", exc)
    finally:
        database.stop_embedded()
