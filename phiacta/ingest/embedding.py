"""Vectors for claims being written, made before their transaction opens.

A slow provider must not hold row locks, so callers embed first and write second. A
failing provider never loses a claim: it is written without a vector, the caller warns,
and `fill_missing_embeddings` (`phiacta embed --missing`) completes it later.
"""

from __future__ import annotations

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
