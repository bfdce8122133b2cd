"""The interface every embedding provider implements, and the one error they raise."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence


class EmbeddingError(Exception):
    """The provider could not embed the texts.

    Callers that write claims catch it, store the claim without its embedding and warn;
    `phiacta embed --missing` fills the gap later. The message never carries a secret.
    """


class EmbeddingProvider(ABC):
    """Turns texts into unit-length vectors of `dimensions` floats."""

    name: str
    dimensions: int
    # How many texts the write path asks for at a time so it can store one chunk while
    # the provider embeds the next, inside the writing transaction; None: all at once,
    # before the transaction opens. Only a provider whose calls are quick and bounded
    # should set it: the transaction (and its connection) stays open while it works.
    write_chunk_size: int | None = None

    @abstractmethod
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One L2-normalized vector per text, in the order of `texts`.

        Raises `EmbeddingError` when the provider fails; an empty sequence gives `[]`.
        """

    async def embed_one(self, text: str) -> list[float]:
        """The vector of a single text, such as a search query."""
        (vector,) = await self.embed([text])
        return vector

    @abstractmethod
    async def aclose(self) -> None:
        """Release the provider's connections or threads; it must not be used afterwards."""
