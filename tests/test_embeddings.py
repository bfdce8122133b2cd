"""Embedding providers: the local model's vectors, and the OpenAI client's batching and
retry policy against a fake OpenAI-compatible server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from phiacta.config import ConfigError, Settings, load_settings
from phiacta.embeddings import (
    EmbeddingError,
    EmbeddingProvider,
    LocalProvider,
    create_provider,
)
from phiacta.embeddings.openai import (
    MAX_INPUTS_PER_REQUEST,
    MAX_TOKENS_PER_REQUEST,
    OpenAIProvider,
    request_chunks,
    retry_after_seconds,
)

API_KEY = "sk-test-0123456789abcdef"


# --- the local provider -------------------------------------------------------------


@pytest.fixture(scope="module")
def local_provider() -> Iterator[LocalProvider]:
    provider = LocalProvider()
    yield provider
    asyncio.run(provider.aclose())


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b))


async def test_local_vectors_are_384_wide_and_unit_length(local_provider: LocalProvider) -> None:
    vectors = await local_provider.embed(["Aspirin lowers blood pressure.", "Water boils."])

    assert local_provider.dimensions == 384
    assert [len(v) for v in vectors] == [384, 384]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


async def test_local_similar_claims_are_closer_than_unrelated_ones(
    local_provider: LocalProvider,
) -> None:
    claim, paraphrase, unrelated = await local_provider.embed(
        [
            "aspirin reduces heart attack risk",
            "aspirin lowers the risk of myocardial infarction",
            "the stock market fell today",
        ]
    )

    assert cosine(claim, paraphrase) > 0.7
    assert cosine(claim, paraphrase) > cosine(claim, unrelated) + 0.4


async def test_local_vectors_do_not_depend_on_batch_or_order(
    local_provider: LocalProvider,
) -> None:
    texts = [
        "A short claim.",
        "Regular aerobic exercise in adults over fifty reduces the incidence of type 2 "
        "diabetes across three independent cohorts.",
        "Mice fed a high-fat diet gain weight.",
    ]

    together = await local_provider.embed(texts)
    alone = [await local_provider.embed_one(text) for text in texts]
    again = await local_provider.embed(list(reversed(texts)))

    assert np.allclose(together, alone, atol=1e-4)
    assert np.allclose(together, list(reversed(again)), atol=1e-5)


async def test_local_empty_input_gives_no_vectors(local_provider: LocalProvider) -> None:
    assert await local_provider.embed([]) == []


async def test_local_empty_and_overlong_texts_still_embed(local_provider: LocalProvider) -> None:
    overlong = " ".join(["photosynthesis converts light into chemical energy"] * 400)

    empty, long = await local_provider.embed(["", overlong])

    assert np.isclose(np.linalg.norm(empty), 1.0, atol=1e-5)
    assert np.isclose(np.linalg.norm(long), 1.0, atol=1e-5)


async def test_local_concurrent_calls_get_their_own_vectors(
    local_provider: LocalProvider,
) -> None:
    texts = [f"Claim number {i} about protein folding." for i in range(40)]

    results = await asyncio.gather(*(local_provider.embed([t]) for t in texts))
    batch = await local_provider.embed(texts)

    assert np.allclose([r[0] for r in results], batch, atol=1e-4)


async def test_a_fresh_local_provider_loads_once_under_concurrent_first_calls() -> None:
    provider = LocalProvider(batch_size=2)
    try:
        first, second = await asyncio.gather(
            provider.embed(["one claim", "two claims", "three claims"]),
            provider.embed(["one claim"]),
        )
        assert np.allclose(first[0], second[0], atol=1e-4)
    finally:
        await provider.aclose()


async def test_a_closed_local_provider_raises_embedding_error() -> None:
    provider = LocalProvider()
    await provider.aclose()

    with pytest.raises(EmbeddingError):
        await provider.embed(["too late"])


# --- a fake OpenAI-compatible server ------------------------------------------------


@dataclass
class FakeOpenAI:
    """Answers POST /v1/embeddings; serves the scripted failures first, then successes."""

    url: str = ""
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    model_size: int = 1536
    force_size: int | None = None

    def answer(self, body: dict[str, Any], authorization: str) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(body)
        self.authorizations.append(authorization)
        if self.failures:
            status, headers = self.failures.pop(0)
            error = {"message": f"failing on purpose; you sent {authorization}", "type": "test"}
            return status, headers, json.dumps({"error": error}).encode()
        size = self.force_size or body.get("dimensions") or self.model_size
        data = [
            {"object": "embedding", "index": index, "embedding": self.encode(vector, body)}
            for index, vector in enumerate(fake_vector(text, size) for text in body["input"])
        ]
        # Out of order on purpose: the client must place vectors by their index.
        payload = {
            "object": "list",
            "data": list(reversed(data)),
            "model": body["model"],
            "usage": {"prompt_tokens": 0, "total_tokens": 0},
        }
        return 200, {}, json.dumps(payload).encode()

    @staticmethod
    def encode(vector: list[float], body: dict[str, Any]) -> object:
        if body.get("encoding_format") == "base64":
            return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
        return vector


def fake_vector(text: str, size: int) -> list[float]:
    """Not unit length (the provider must normalize it); the length of the text is encoded
    in the direction, so order mix-ups show."""
    vector = [0.0] * size
    vector[0] = 3.0
    vector[1 % size] += float(len(text) + 1)
    return vector


def unit(vector: list[float]) -> list[float]:
    array = np.asarray(vector)
    normalized: list[float] = (array / np.linalg.norm(array)).tolist()
    return normalized


@contextmanager
def serving_fake_openai() -> Iterator[FakeOpenAI]:
    """A FakeOpenAI answering on a free 127.0.0.1 port for the duration of the block."""
    fake = FakeOpenAI()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, headers, payload = fake.answer(body, self.headers.get("Authorization", ""))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    # A short poll interval, because shutdown() waits for the loop's next poll.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with serving_fake_openai() as fake:
        yield fake


def openai_settings(base_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "openai_api_key": API_KEY,
        "openai_base_url": base_url,
        "embedding_provider_setting": "openai",
        "embedding_model": "text-embedding-3-small",
        "embedding_dimensions_setting": None,
    }
    values.update(overrides)
    return load_settings(**values)


@dataclass
class SleepRecorder:
    """Stands in for asyncio.sleep: the tests check the waits without waiting."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def openai_provider(
    fake_openai: FakeOpenAI, sleeps: SleepRecorder
) -> AsyncIterator[OpenAIProvider]:
    provider = OpenAIProvider(openai_settings(fake_openai.url), sleep=sleeps)
    yield provider
    await provider.aclose()


# --- the OpenAI provider ------------------------------------------------------------


async def test_openai_returns_unit_vectors_in_input_order(
    fake_openai: FakeOpenAI, openai_provider: OpenAIProvider
) -> None:
    texts = ["a", "bbb", "cc"]

    vectors = await openai_provider.embed(texts)

    assert np.allclose(vectors, [unit(fake_vector(t, 1536)) for t in texts])
    assert fake_openai.authorizations == [f"Bearer {API_KEY}"]


async def test_openai_sends_3000_inputs_as_two_requests_of_at_most_2048(
    fake_openai: FakeOpenAI, openai_provider: OpenAIProvider
) -> None:
    texts = [f"claim {i}" for i in range(3000)]

    vectors = await openai_provider.embed(texts)

    assert [len(r["input"]) for r in fake_openai.requests] == [2048, 952]
    assert len(vectors) == 3000
    assert np.allclose(vectors[2999], unit(fake_vector(texts[2999], 1536)))


def test_request_chunks_keep_under_the_token_budget_of_one_request() -> None:
    texts = [f"{i:05d}" + "x" * 9_995 for i in range(200)]

    chunks = list(request_chunks(texts))

    assert len(chunks) > 1
    assert [t for chunk in chunks for t in chunk] == texts
    for chunk in chunks:
        assert len(chunk) <= MAX_INPUTS_PER_REQUEST
        assert sum(len(t) for t in chunk) // 3 <= MAX_TOKENS_PER_REQUEST


async def test_openai_omits_dimensions_when_the_model_default_is_wanted(
    fake_openai: FakeOpenAI, sleeps: SleepRecorder
) -> None:
    settings = openai_settings(fake_openai.url, embedding_dimensions_setting=1536)
    provider = OpenAIProvider(settings, sleep=sleeps)
    try:
        await provider.embed(["default size"])
    finally:
        await provider.aclose()

    assert "dimensions" not in fake_openai.requests[0]


async def test_openai_asks_for_a_shorter_vector_when_configured(
    fake_openai: FakeOpenAI, sleeps: SleepRecorder
) -> None:
    settings = openai_settings(fake_openai.url, embedding_dimensions_setting=256)
    provider = OpenAIProvider(settings, sleep=sleeps)
    try:
        (vector,) = await provider.embed(["short vector"])
    finally:
        await provider.aclose()

    assert fake_openai.requests[0]["dimensions"] == 256
    assert provider.dimensions == len(vector) == 256


async def test_openai_retries_429_after_the_pause_retry_after_asks_for(
    fake_openai: FakeOpenAI, openai_provider: OpenAIProvider, sleeps: SleepRecorder
) -> None:
    fake_openai.failures = [(429, {"Retry-After": "2"}), (429, {"retry-after-ms": "250"})]

    vectors = await openai_provider.embed(["rate limited"])

    assert len(vectors) == 1
    assert len(fake_openai.requests) == 3
    assert sleeps.delays == [2.0, 0.25]


async def test_openai_retries_server_errors_with_growing_backoff(
    fake_openai: FakeOpenAI, openai_provider: OpenAIProvider, sleeps: SleepRecorder
) -> None:
    fake_openai.failures = [(500, {}), (502, {}), (503, {})]

    vectors = await openai_provider.embed(["flaky"])

    assert len(vectors) == 1
    assert len(fake_openai.requests) == 4
    assert len(sleeps.delays) == 3
    for attempt, delay in enumerate(sleeps.delays):
        assert 0.25 * 2**attempt <= delay <= 0.5 * 2**attempt


async def test_openai_gives_up_after_five_attempts(
    fake_openai: FakeOpenAI, openai_provider: OpenAIProvider, sleeps: SleepRecorder
) -> None:
    fake_openai.failures = [(500, {"Retry-After": "0"})] * 10

    with pytest.raises(EmbeddingError, match="after 5 attempt"):
        await openai_provider.embed(["never works"])

    assert len(fake_openai.requests) == 5
    assert sleeps.delays == [0.0] * 4


async def test_openai_gives_up_at_once_when_asked_to_wait_too_long(
    fake_openai: FakeOpenAI, openai_provider: OpenAIProvider, sleeps: SleepRecorder
) -> None:
    fake_openai.failures = [(429, {"Retry-After": "3600"})]

    with pytest.raises(EmbeddingError, match="HTTP 429"):
        await openai_provider.embed(["come back in an hour"])

    assert len(fake_openai.requests) == 1
    assert sleeps.delays == []


async def test_openai_does_not_retry_a_refused_key_nor_reveal_it(
    fake_openai: FakeOpenAI, openai_provider: OpenAIProvider, sleeps: SleepRecorder
) -> None:
    fake_openai.failures = [(401, {})]

    with pytest.raises(EmbeddingError, match="HTTP 401") as caught:
        await openai_provider.embed(["unauthorized"])

    assert API_KEY not in str(caught.value)
    assert len(fake_openai.requests) == 1
    assert sleeps.delays == []


async def test_openai_vector_of_the_wrong_size_is_an_embedding_error(
    fake_openai: FakeOpenAI, openai_provider: OpenAIProvider
) -> None:
    fake_openai.force_size = 768

    with pytest.raises(EmbeddingError, match="size"):
        await openai_provider.embed(["wrong model behind the endpoint"])


async def test_openai_unreachable_server_is_retried_then_an_embedding_error(
    sleeps: SleepRecorder,
) -> None:
    with socket_bound_but_not_listening() as url:
        provider = OpenAIProvider(openai_settings(url), max_attempts=2, sleep=sleeps)
        try:
            with pytest.raises(EmbeddingError, match="Connection"):
                await provider.embed(["nobody home"])
        finally:
            await provider.aclose()

    assert len(sleeps.delays) == 1


async def test_openai_empty_input_sends_no_request(
    fake_openai: FakeOpenAI, openai_provider: OpenAIProvider
) -> None:
    assert await openai_provider.embed([]) == []
    assert fake_openai.requests == []


def test_retry_after_reads_seconds_milliseconds_and_http_dates() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)

    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "7"}) == 1.5
    assert 25 < (retry_after_seconds({"retry-after": later}) or 0) <= 30
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


# --- choosing a provider ------------------------------------------------------------


async def closed(provider: EmbeddingProvider) -> EmbeddingProvider:
    await provider.aclose()
    return provider


async def test_create_provider_is_local_without_a_key() -> None:
    settings = load_settings(openai_api_key=None, embedding_provider_setting="auto")

    assert isinstance(await closed(create_provider(settings)), LocalProvider)


async def test_create_provider_is_openai_with_a_key() -> None:
    settings = load_settings(openai_api_key=API_KEY, embedding_provider_setting="auto")

    provider = await closed(create_provider(settings))

    assert isinstance(provider, OpenAIProvider)
    assert provider.dimensions == 1536


def test_create_provider_openai_without_a_key_is_a_config_error() -> None:
    settings = load_settings(openai_api_key=None, embedding_provider_setting="openai")

    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        create_provider(settings)


def test_create_provider_local_with_another_size_is_a_config_error() -> None:
    settings = load_settings(embedding_provider_setting="local", embedding_dimensions_setting=1536)

    with pytest.raises(ConfigError, match="EMBEDDING_DIMENSIONS"):
        create_provider(settings)


@contextmanager
def socket_bound_but_not_listening() -> Iterator[str]:
    """A 127.0.0.1 URL whose port is reserved, so nothing else takes it, but refuses
    connections."""
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{reserved.getsockname()[1]}/v1"
