"""Timing (and, in development, logging) every SQL statement the pool runs.

psycopg has no statement hook, so the pool's connections create their cursors from
`TimedCursor`: `execute` is wrapped with a monotonic clock that feeds
`phiacta_db_query_duration_seconds`. The statement text (never its parameters, which
carry user data and key hashes) is logged at DEBUG on `phiacta.sql`, a logger that
`configure_logging` enables only when ENVIRONMENT=development and LOG_LEVEL=debug.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any, Self

import structlog
from psycopg import AsyncCursor
from psycopg.abc import Params, Query
from psycopg.rows import Row
from psycopg.sql import Composable

from phiacta.observability import metrics
from phiacta.observability.logging import SQL_LOGGER

MAX_LOGGED_STATEMENT = 2000

_stdlib_sql_log = logging.getLogger(SQL_LOGGER)
sql_log = structlog.get_logger(SQL_LOGGER)


def _statement_text(query: Query, cursor: AsyncCursor[Any]) -> str:
    if isinstance(query, Composable):
        text = query.as_string(cursor.connection)
    elif isinstance(query, bytes):
        text = query.decode("utf-8", "replace")
    else:
        text = str(query)
    return " ".join(text.split())[:MAX_LOGGED_STATEMENT]


class TimedCursor(AsyncCursor[Row]):
    """An async cursor whose statements are timed into the query-duration histogram."""

    async def execute(
        self,
        query: Query,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> Self:
        started = time.perf_counter()
        try:
            # One signature covering both of psycopg's overloads (plain SQL with params,
            # template strings without); the parent sorts them out at run time.
            return await super().execute(  # type: ignore[misc]
                query,  # type: ignore[arg-type]
                params,
                prepare=prepare,
                binary=binary,
            )
        finally:
            self._finished(query, started)

    async def executemany(
        self, query: Query, params_seq: Iterable[Params], *, returning: bool = False
    ) -> None:
        started = time.perf_counter()
        try:
            await super().executemany(query, params_seq, returning=returning)
        finally:
            self._finished(query, started)

    def _finished(self, query: Query, started: float) -> None:
        seconds = time.perf_counter() - started
        metrics.query_finished(seconds)
        if _stdlib_sql_log.isEnabledFor(logging.DEBUG):
            sql_log.debug(
                "sql",
                statement=_statement_text(query, self),
                duration_ms=round(seconds * 1000, 3),
            )
