"""`phiacta ingest PATH...`: files and folders through an extension into the graph.

Each file is detected (`bundle` for a SubmitBundleInput JSON document, `manual-entry`
for other YAML/JSON, `paper-ingestion` for papers) unless `--extension` names one, read,
and submitted as one atomic bundle: a file that fails leaves nothing behind, and the
others go on. A progress bar runs on stderr while many files are read; a summary table
(claims, edges, references, links formed, warnings per file) ends on stdout. The exit
status is 1 when any file failed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from phiacta.config import Settings, load_settings
from phiacta.db.pool import create_pool
from phiacta.db.runtime import open_database
from phiacta.embeddings import create_provider
from phiacta.errors import PhiactaError, ValidationFailed
from phiacta.extensions.base import ExtractionError, InputExtension, Source
from phiacta.extensions.runner import DatabaseTarget, Outcome, Target, run_extension
from phiacta.ingest.commands import run_ingest

EXTENSIONS = ("paper-ingestion", "manual-entry", "bundle")
PAPER_SUFFIXES = (".pdf", ".md", ".markdown", ".xml", ".nxml", ".jats", ".tex", ".txt")
MANUAL_SUFFIXES = (".yaml", ".yml", ".json")


def builtin_extension(name: str, settings: Settings) -> InputExtension:
    if name == "manual-entry":
        from phiacta.extensions.manual_entry import ManualEntry

        return ManualEntry()
    from phiacta.extensions.paper_ingestion import PaperIngestion

    return PaperIngestion.from_settings(settings)


def detect(path: Path) -> str | None:
    """The extension for a file, or None when no built-in one reads it."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "manual-entry"
        is_bundle = isinstance(document, dict) and "idempotencyKey" in document
        return "bundle" if is_bundle else "manual-entry"
    if suffix in MANUAL_SUFFIXES:
        return "manual-entry"
    if suffix in PAPER_SUFFIXES:
        return "paper-ingestion"
    return None


def files_of(paths: Sequence[Path]) -> Iterator[Path]:
    """The files named, and those inside the folders named (sorted). In a folder, only
    a LaTeX tree's main file is a paper: its `\\input` files are read through it."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            if detect(file) is None or file.name.startswith("."):
                continue
            if file.suffix.lower() == ".tex" and not _is_latex_root(file):
                continue
            yield file


def _is_latex_root(file: Path) -> bool:
    head = file.read_bytes()[:200_000]
    return b"\\documentclass" in head or b"\\begin{document}" in head


def run_ingest_paths(
    settings: Settings,
    paths: Sequence[Path],
    *,
    extension: str | None,
    agent_name: str,
    server: str | None = None,
    key: str | None = None,
) -> int:
    files = list(files_of(paths))
    missing = [f for f in files if not f.exists()]
    if missing:
        print(f"phiacta: no such file: {missing[0]}", file=sys.stderr)
        return 2
    if not files:
        print("phiacta: nothing to ingest", file=sys.stderr)
        return 2
    if len(files) == 1 and (extension or detect(files[0])) == "bundle":
        # The single-bundle form, unchanged: the stored response on stdout.
        return run_ingest(settings, files[0], agent_name)
    if server is not None:
        return _with_server(settings, files, extension, server, key)
    database = open_database(settings)
    try:
        outcomes = asyncio.run(_ingest_into_database(settings, database.url, files, extension))
    finally:
        database.stop_embedded()
    return _report(outcomes)


def _with_server(
    settings: Settings, files: list[Path], extension: str | None, server: str, key: str | None
) -> int:
    from phiacta.extensions.remote import ServerTarget

    if key is None:
        print("phiacta: --server needs --key", file=sys.stderr)
        return 2

    async def run() -> list[Outcome]:
        async with ServerTarget(server, key) as target:
            return await _ingest_all(settings, files, extension, target)

    return _report(asyncio.run(run()))


async def _ingest_into_database(
    settings: Settings, url: str, files: list[Path], extension: str | InputExtension | None
) -> list[Outcome]:
    pool = create_pool(settings, url)
    await pool.open()
    embedder = create_provider(settings) if settings.embed_on_write else None
    try:
        target = DatabaseTarget(pool, embedder, settings)
        return await _ingest_all(settings, files, extension, target)
    finally:
        if embedder is not None:
            await embedder.aclose()
        await pool.close()


def ingest_paths(
    extension: InputExtension, paths: Sequence[Path], settings: Settings | None = None
) -> list[Outcome]:
    """Run `extension` over files (folders walked) into the configured database; one
    outcome per file. For scripts and custom extensions: `phiacta ingest` in a call."""
    settings = settings or load_settings()
    files = [p for p in files_of(paths) if p.is_file()]
    database = open_database(settings)
    try:
        return asyncio.run(_ingest_into_database(settings, database.url, files, extension))
    finally:
        database.stop_embedded()


async def _ingest_all(
    settings: Settings, files: list[Path], extension: str | InputExtension | None, target: Target
) -> list[Outcome]:
    extensions: dict[str, InputExtension] = {}
    if isinstance(extension, InputExtension):
        extensions[extension.manifest.id] = extension
        await target.register(extension.manifest)
        extension = extension.manifest.id
    outcomes = []
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=len(files) < 2 or not console.is_terminal,
    ) as progress:
        task = progress.add_task("ingesting", total=len(files))
        for file in files:
            progress.update(task, description=file.name[:40])
            name = extension or detect(file)
            if name is None or (name == "bundle" and name not in extensions):
                why = "no extension reads this file" if name is None else "a bundle among files"
                outcomes.append(Outcome(name=str(file), error=why))
            else:
                if name not in extensions:
                    extensions[name] = builtin_extension(name, settings)
                    await target.register(extensions[name].manifest)
                one = await _ingest_one(extensions[name], file, target, settings.max_bundle_claims)
                outcomes.append(one)
            progress.advance(task)
    return outcomes


async def _ingest_one(
    extension: InputExtension, file: Path, target: Target, max_claims: int
) -> Outcome:
    try:
        source = Source.from_path(file)
        outcome = await run_extension(extension, source, target, max_claims)
    except (ExtractionError, OSError) as exc:
        return Outcome(name=str(file), error=str(exc))
    except ValidationFailed as exc:
        listed = "; ".join(f"{p.path}: {p.message} [{p.code}]" for p in exc.problems[:10])
        return Outcome(name=str(file), error=listed)
    except PhiactaError as exc:
        return Outcome(name=str(file), error=f"{exc.code}: {exc.message}")
    return Outcome(**{**outcome.__dict__, "name": str(file)})


def _report(outcomes: list[Outcome]) -> int:
    table = Table(title="phiacta ingest")
    for column in ("file", "claims", "edges", "references", "links", "warnings", "status"):
        table.add_column(column, justify="left" if column in ("file", "status") else "right")
    for o in outcomes:
        status = "failed" if o.failed else ("already ingested" if o.already_ingested else "ok")
        table.add_row(
            o.name,
            str(o.claims),
            str(o.edges),
            str(o.references),
            str(o.links),
            str(len(o.warnings)),
            status,
        )
    Console(width=160).print(table)
    err = Console(stderr=True)
    for o in outcomes:
        if o.error is not None:
            # One line per failure whatever the terminal's width: paths and codes stay
            # whole for the people and scripts that read them.
            err.print(
                f"[red]failed[/red] {escape(o.name)}: {escape(o.error)}",
                highlight=False,
                soft_wrap=True,
            )
    return 1 if any(o.failed for o in outcomes) else 0
