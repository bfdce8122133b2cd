"""One pooled connection for the reads of one HTTP request.

A query's DataLoaders each run a batch; taking a pooled connection per batch costs a
pool checkout and return each time, for a request that usually needs a few
milliseconds of database work in total. `RequestConnection` takes one connection on
first use and keeps it until the view has built the response. Loaders of the same
request may run concurrently on the event loop: one holds the connection at a time and
the others take pooled connections as before, so batching is unchanged. Only reads in
autocommit mode use it; writes (with their transactions) take their own pooled
connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from phiacta.db.pool import Pool
from phiacta.store import Connection


class RequestConnection:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._conn: Connection | None = None
        self._busy = False
        self._released = False

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[Connection | None]:
        """The request's connection, taken from the pool on first use; None while another
        of the request's reads holds it (that one takes a pooled connection of its own,
        so independent batches still run side by side) or once it is released."""
        if self._busy or self._released:
            yield None
            return
        self._busy = True
        try:
            if self._conn is None:
                self._conn = await self._pool.getconn()
            yield self._conn
        finally:
            self._busy = False
            if self._released:
                await self._give_back()

    async def release(self) -> None:
        """Gives the connection back (at once, or when its current holder is done)."""
        self._released = True
        if not self._busy:
            await self._give_back()

    async def _give_back(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._pool.putconn(conn)
