"""Vectors for claims being written.

A single claim (`embed_for_write`) is embedded before its transaction opens: a slow
provider must not hold row locks. A bundle's claims go through `ChunkedEmbedding`: with
a provider that sets `write_chunk_size` (the local one: in-process, bounded) the caller
stores each chunk inside its transaction while the provider embeds the next, so
PostgreSQL's index work overlaps the model's; other providers embed everything in one
call, awaited before the transaction opens.

A failing provider never loses a claim: it is written without a vector, the caller warns,
and `fill_missing_embeddings` (`phiacta embed --missing`) completes it later.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import structlog

from phiacta.config import Settings
from phiacta.db.pool import Pool
from phiacta.embeddings.base import EmbeddingError, EmbeddingProvider
from phiacta.store import claims as claim_store

log = structlog.get_logger(__name__)

MISSING_BATCH_SIZE = 256
_BEGINNING = (datetime(1970, 1, 1, tzinfo=UTC), UUID(int=0))


@dataclass(frozen=True)
class Embedded:
    """One vector (or None) per text; `failure` says why there are none."""

    vectors: list[list[float] | None]
    failure: str | None = None


async def embed_for_write(
    embedder: EmbeddingProvider | None, settings: Settings, texts: Sequence[str]
) -> Embedded:
    if embedder is None or not settings.embed_on_write or not texts:
        return Embedded([None] * len(texts))
    try:
        vectors = await embedder.embed(texts)
    except EmbeddingError as exc:
        log.warning("embedding_failed", provider=embedder.name, count=len(texts), error=str(exc))
        return Embedded([None] * len(texts), failure=str(exc))
    return Embedded(list(vectors))


class ChunkedEmbedding:
    """The vectors of `texts`, one chunk at a time, each next chunk embedded ahead.

    Embedding of the first chunk starts at construction; `next_chunk` returns a chunk's
    vectors and starts the one after it, so the provider works while the caller stores
    what it got. After a provider failure the remaining texts get None and `failure`
    says why; nothing more is asked of the provider. Call `aclose` when done (or
    abandoned) so a chunk nobody will read is cancelled.
    """

    def __init__(
        self, embedder: EmbeddingProvider | None, settings: Settings, texts: Sequence[str]
    ) -> None:
        self._embedder = embedder if embedder is not None and settings.embed_on_write else None
        self._texts = texts
        chunk_size = self._embedder.write_chunk_size if self._embedder is not None else None
        self._chunk_size = chunk_size or max(len(texts), 1)
        self._start = 0
        self._ahead: asyncio.Future[list[list[float]]] | None = None
        self.failure: str | None = None
        self._embed_ahead()

    @property
    def done(self) -> bool:
        return self._start >= len(self._texts)

    async def next_chunk(self) -> list[list[float] | None]:
        """The next chunk's vectors (None for a text the provider did not embed)."""
        size = min(self._chunk_size, len(self._texts) - self._start)
        ahead, self._ahead = self._ahead, None
        vectors: list[list[float] | None] = [None] * size
        if ahead is not None:
            try:
                vectors = list(await ahead)
            except EmbeddingError as exc:
                assert self._embedder is not None
                log.warning(
                    "embedding_failed",
                    provider=self._embedder.name,
                    count=len(self._texts) - self._start,
                    error=str(exc),
                )
                self.failure = str(exc)
        self._start += size
        self._embed_ahead()
        return vectors

    async def aclose(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return
        ahead.cancel()
        with contextlib.suppress(asyncio.CancelledError, EmbeddingError):
            await ahead

    def _embed_ahead(self) -> None:
        if self._embedder is None or self.failure is not None or self.done:
            return
        chunk = self._texts[self._start : self._start + self._chunk_size]
        self._ahead = asyncio.ensure_future(self._embedder.embed(chunk))


async def fill_missing_embeddings(
    pool: Pool, embedder: EmbeddingProvider, *, batch_size: int = MISSING_BATCH_SIZE
) -> int:
    """Embed every claim stored without a vector, `batch_size` at a time; how many were
    filled. Each batch commits on its own, so an interruption keeps the work done."""
    filled = 0
    after = _BEGINNING
    while True:
        async with pool.connection() as conn:
            batch = await claim_store.claims_missing_embedding(conn, after=after, limit=batch_size)
        if not batch:
            return filled
        vectors = await embedder.embed([row.content for row in batch])
        async with pool.connection() as conn:
            filled += await claim_store.set_embeddings(conn, [row.id for row in batch], vectors)
        after = (batch[-1].created_at, batch[-1].id)
        log.info("embeddings_filled", filled=filled)
