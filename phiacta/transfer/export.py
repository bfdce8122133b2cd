"""Exporting: a selection and a format in, a stream of text out.

`stream_export` is what `phiacta export` and `GET /export/{format}` both run: one
REPEATABLE READ transaction on one connection, records read through server-side
cursors and written by the format as they come.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from phiacta.errors import FieldProblem, ValidationFailed
from phiacta.store import Connection
from phiacta.store.export import (
    FIELDS,
    ExportSelection,
    export_ndjson,
    export_rows,
    export_transaction,
    shared_snapshot,
)
from phiacta.transfer.formats import FORMATS, Format, Record

T = TypeVar("T")

# The record kinds that stand for one claim (for progress).
CLAIM_KINDS = frozenset({"claim", "nanopub"})


def format_named(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValidationFailed.single(
            "format", f"unknown format {name!r}; one of {', '.join(FORMATS)}"
        ) from None


def selection_from(params: Mapping[str, str | None]) -> ExportSelection:
    """An export selection from text options (query parameters or CLI flags); every
    bad value is reported with its name."""
    problems: list[FieldProblem] = []

    def parsed(name: str, parse: Callable[[str], T]) -> T | None:
        raw = params.get(name)
        if raw is None or raw == "":
            return None
        try:
            return parse(raw)
        except ValueError:
            problems.append(FieldProblem(name, f"cannot read {raw!r}"))
            return None

    selection = ExportSelection(
        namespace=params.get("namespace") or None,
        source_id=parsed("source", UUID),
        created_after=parsed("createdAfter", datetime.fromisoformat),
        created_before=parsed("createdBefore", datetime.fromisoformat),
        latest_only=(params.get("latestOnly") or "").lower() in ("1", "true", "yes"),
    )
    if problems:
        raise ValidationFailed(problems)
    return selection


async def stream_export(
    conn: Connection,
    fmt: Format,
    selection: ExportSelection,
    on_claims: Callable[[int], None] | None = None,
    helpers: Sequence[Connection] = (),
) -> AsyncIterator[bytes]:
    """The export as pieces of UTF-8 text, read from one snapshot. NDJSON lines are
    made on `conn` and on each of `helpers` (idle connections) at once."""
    async with export_transaction(conn):
        if fmt.write is None:
            async with shared_snapshot(conn, helpers):
                async for kind, count, lines in export_ndjson(conn, selection, helpers):
                    if on_claims is not None and kind in CLAIM_KINDS:
                        on_claims(count)
                    yield lines
            return

        async def records() -> AsyncIterator[tuple[str, list[Record]]]:
            names = {kind: ("type", *(name for name, _ in FIELDS[kind])) for kind in fmt.kinds}
            async for kind, rows in export_rows(conn, selection, fmt.kinds):
                if on_claims is not None and kind in CLAIM_KINDS:
                    on_claims(len(rows))
                if kind == "nanopub":
                    yield kind, [row[0] for row in rows]
                else:
                    keys = names[kind]
                    yield kind, [dict(zip(keys, (kind, *row), strict=True)) for row in rows]

        async for piece in fmt.write(records()):
            yield piece
