"""The OpenAI provider: the embeddings endpoint of OpenAI or of an API-compatible server.

The client's own retries are turned off so that one policy runs: up to `max_attempts`
tries on 408, 409, 429, 5xx, timeouts and dropped connections, waiting as `Retry-After`
asks or else with capped exponential backoff and jitter. A server that asks for a pause
longer than `max_delay` gets no retry: the caller stores the claim and embeds it later.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence

import numpy as np
import openai
import structlog
from openai import AsyncOpenAI

from phiacta.config import OPENAI_MODEL_DIMENSIONS, ConfigError, Settings
from phiacta.embeddings.base import EmbeddingError, EmbeddingProvider

# The API's limits for one request: 2048 inputs and 300,000 tokens summed over them.
MAX_INPUTS_PER_REQUEST = 2048
MAX_TOKENS_PER_REQUEST = 300_000
# English text runs about four characters a token; three keeps the estimate on the safe
# side for formulas and non-English claims.
_CHARS_PER_TOKEN_ESTIMATE = 3
DEFAULT_MAX_ATTEMPTS = 5
# The size to expect from a model missing from OPENAI_MODEL_DIMENSIONS (a compatible
# server's, say) when EMBEDDING_DIMENSIONS is not set; the same default config.py uses.
DEFAULT_OPENAI_DIMENSIONS = 1536
_RETRYABLE_STATUS = frozenset({408, 409, 429})

Sleep = Callable[[float], Awaitable[None]]
log = structlog.get_logger(__name__)


class OpenAIProvider(EmbeddingProvider):
    """Embeddings from EMBEDDING_MODEL, EMBEDDING_DIMENSIONS wide, else the model's size."""

    name = "openai"

    def __init__(
        self,
        settings: Settings,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if settings.openai_api_key is None:
            raise ConfigError("OPENAI_API_KEY: required by the openai embedding provider")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.model = settings.embedding_model
        # Not `settings.embedding_dimensions`: its default follows the provider `auto`
        # picks, and this provider's size is the model's whatever was picked.
        self.dimensions = settings.embedding_dimensions_setting or OPENAI_MODEL_DIMENSIONS.get(
            self.model, DEFAULT_OPENAI_DIMENSIONS
        )
        self._send_dimensions = _needs_dimensions_parameter(settings)
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._sleep = sleep
        self._secret = settings.openai_api_key.get_secret_value()
        self._client = AsyncOpenAI(
            api_key=self._secret,
            base_url=settings.openai_base_url,
            timeout=settings.embedding_timeout,
            max_retries=0,
        )

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for chunk in request_chunks(texts):
            vectors.extend(await self._embed_with_retries(chunk))
        return vectors

    async def aclose(self) -> None:
        await self._client.close()

    async def _embed_with_retries(self, texts: Sequence[str]) -> list[list[float]]:
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await self._request(texts)
            except (openai.APIStatusError, openai.APIConnectionError) as exc:
                delay = self._retry_delay(exc, attempt)
                if delay is None:
                    raise EmbeddingError(self._describe(exc, attempt)) from None
                log.warning(
                    "embedding_request_retry",
                    provider=self.name,
                    attempt=attempt,
                    status=getattr(exc, "status_code", None),
                    delay_s=round(delay, 3),
                )
                await self._sleep(delay)
            except openai.OpenAIError as exc:
                raise EmbeddingError(self._describe(exc, attempt)) from None
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _request(self, texts: Sequence[str]) -> list[list[float]]:
        # The API refuses an empty string; a lone space embeds as "no content".
        inputs = [text if text.strip() else " " for text in texts]
        response = await self._client.embeddings.create(
            model=self.model,
            input=inputs,
            dimensions=self.dimensions if self._send_dimensions else openai.omit,
        )
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(texts):
            raise EmbeddingError(f"asked for {len(texts)} embeddings, the API returned {len(data)}")
        return _normalized([item.embedding for item in data], self.dimensions)

    def _retry_delay(self, exc: openai.APIError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        if attempt >= self._max_attempts:
            return None
        if isinstance(exc, openai.APIStatusError):
            if exc.status_code < 500 and exc.status_code not in _RETRYABLE_STATUS:
                return None
            asked = retry_after_seconds(exc.response.headers)
            if asked is not None:
                # A longer pause than a write may be held open for is better answered
                # by giving up now.
                return asked if asked <= self._max_delay else None
        backoff = min(self._max_delay, self._base_delay * 2.0 ** (attempt - 1))
        return backoff * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret

    def _describe(self, exc: openai.OpenAIError, attempts: int) -> str:
        status = getattr(exc, "status_code", None)
        reason = f"HTTP {status}" if status is not None else type(exc).__name__
        # Some servers echo the key back in an authentication error.
        detail = str(exc).replace(self._secret, "***")
        return f"{self.name} embeddings failed after {attempts} attempt(s): {reason}: {detail}"


def request_chunks(texts: Sequence[str]) -> Iterator[Sequence[str]]:
    """Split texts into runs that respect the API's per-request input and token limits."""
    budget = MAX_TOKENS_PER_REQUEST
    start = 0
    tokens = 0
    for index, text in enumerate(texts):
        cost = len(text) // _CHARS_PER_TOKEN_ESTIMATE + 1
        if index > start and (index - start >= MAX_INPUTS_PER_REQUEST or tokens + cost > budget):
            yield texts[start:index]
            start, tokens = index, 0
        tokens += cost
    if start < len(texts):
        yield texts[start:]


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The pause a response asks for, from `retry-after-ms` or `Retry-After`.

    `Retry-After` is either seconds or an HTTP date; anything unreadable counts as absent.
    Header names are matched as given, so pass a case-insensitive mapping.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _needs_dimensions_parameter(settings: Settings) -> bool:
    """Whether to ask for a shortened vector: only when EMBEDDING_DIMENSIONS asks for a
    size other than the model's own, since older models refuse the parameter."""
    wanted = settings.embedding_dimensions_setting
    return wanted is not None and wanted != OPENAI_MODEL_DIMENSIONS.get(settings.embedding_model)


def _normalized(vectors: list[list[float]], dimensions: int) -> list[list[float]]:
    sizes = {len(vector) for vector in vectors}
    if sizes and sizes != {dimensions}:
        raise EmbeddingError(
            f"the API returned vectors of size {sorted(sizes)}, expected {dimensions}; "
            "check EMBEDDING_MODEL and EMBEDDING_DIMENSIONS"
        )
    if not vectors:
        return []
    # OpenAI's vectors are unit length already; compatible servers' need not be.
    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    result: list[list[float]] = (matrix / np.maximum(norms, 1e-12)).tolist()
    return result
