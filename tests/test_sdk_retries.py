"""SDK retries against a live server: RATE_LIMITED after Retry-After, gateway errors and
lost connections, and which operations may be sent twice."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from phiacta.auth.ratelimit import RateLimiter
from phiacta.sdk import (
    BundleClaim,
    BundleInput,
    BundleSource,
    PhiactaClient,
    RateLimited,
    ServerError,
    Unavailable,
)
from tests.support import LiveServer, create_api_key, unique_name

WINDOW = 60
WINDOW_END = 100_000 * WINDOW  # a window boundary far from "now"


class ScriptedClock:
    """The rate limiter's clock: the scripted readings first, then `after` onwards."""

    def __init__(self, readings: list[float], after: float) -> None:
        self.readings = deque(readings)
        self.after = after

    def __call__(self) -> float:
        return self.readings.popleft() if self.readings else self.after


def fast_client(
    url: str,
    key: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    max_retry_after: float = 120.0,
) -> PhiactaClient:
    """A client whose backoff (not its honouring of Retry-After) takes milliseconds."""
    return PhiactaClient(
        url,
        key,
        backoff_base=0.01,
        backoff_max=0.05,
        transport=transport,
        max_retry_after=max_retry_after,
    )


def use_clock(server: LiveServer, clock: Callable[[], float]) -> None:
    app: Any = server.app
    limiter: RateLimiter = app.state.services.rate_limiter
    limiter.clock = clock


def one_claim_bundle(tag: str) -> BundleInput:
    return BundleInput(
        source=BundleSource("manual_entry", title=tag),
        claims=[BundleClaim("only", f"The retried claim {tag}")],
    )


async def claims_tagged(client: PhiactaClient, tag: str) -> int:
    return len(await client.search(tag, "FULLTEXT"))


async def test_a_rate_limited_bundle_is_sent_again_after_retry_after(
    server: LiveServer, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    key = await asyncio.to_thread(
        create_api_key,
        database_url,
        ["bundles:write", "claims:read"],
        rate_limits={"bundles:write": 1},
    )
    # Half a second before the window ends: the key's first verification (counted in the
    # `auth` group) and the first bundle use the key's one request, the second is refused
    # with Retry-After 1, its retry lands in the next window.
    use_clock(server, ScriptedClock([WINDOW_END - 0.5] * 3, WINDOW_END + 1))
    tag = unique_name("limited")
    async with fast_client(server.url, key.raw) as client:
        await client.submit_bundle(one_claim_bundle(tag + "a"))
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="phiacta.sdk"):
            result = await client.submit_bundle(one_claim_bundle(tag + "b"))
        waited = time.monotonic() - started
    assert not result.replayed and list(result.claims) == ["only"]
    assert waited >= 1.0  # the server's Retry-After, honoured
    assert [r.getMessage() for r in caplog.records if "RATE_LIMITED" in r.getMessage()]


async def test_a_retry_after_beyond_the_clients_patience_is_raised(
    server: LiveServer, database_url: str
) -> None:
    key = await asyncio.to_thread(
        create_api_key, database_url, ["bundles:write"], rate_limits={"bundles:write": 1}
    )
    use_clock(server, ScriptedClock([], WINDOW_END - 55))
    async with fast_client(server.url, key.raw, max_retry_after=10) as client:
        await client.submit_bundle(one_claim_bundle(unique_name("patient")))
        started = time.monotonic()
        with pytest.raises(RateLimited) as raised:
            await client.submit_bundle(one_claim_bundle(unique_name("impatient")))
    assert raised.value.retry_after == 55 and raised.value.request_id
    assert time.monotonic() - started < 10  # raised at once, not after waiting


class Gateway(httpx.AsyncBaseTransport):
    """A proxy in front of the live server that fails the first `failures` requests:
    `refuse` before forwarding (nothing reaches the server), `lose_answer` after it (the
    server ran the request, the client sees a 502), or `unavailable` with a 503."""

    def __init__(self, mode: str, failures: int) -> None:
        self.mode = mode
        self.failures = failures
        self.requests = 0
        self.upstream = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        failing = self.requests <= self.failures
        if failing and self.mode == "refuse":
            raise httpx.ConnectError("connection refused", request=request)
        if failing and self.mode == "unavailable":
            return httpx.Response(503, text="upstream restarting")
        response = await self.upstream.handle_async_request(request)
        if failing and self.mode == "lose_answer":
            await response.aread()
            return httpx.Response(502, text="bad gateway")
        return response

    async def aclose(self) -> None:
        await self.upstream.aclose()


def client_through(server: LiveServer, key: str, gateway: Gateway) -> PhiactaClient:
    return fast_client(server.url, key, transport=gateway)


@pytest.fixture(scope="module")
def writer_key(database_url: str) -> str:
    return create_api_key(database_url, ["bundles:write", "claims:read", "reviews:write"]).raw


async def test_a_bundle_whose_answer_was_lost_is_written_once(
    server: LiveServer, writer_key: str
) -> None:
    use_clock(server, time.time)
    tag = unique_name("lost")
    gateway = Gateway("lose_answer", failures=2)
    async with client_through(server, writer_key, gateway) as client:
        result = await client.submit_bundle(one_claim_bundle(tag))
        assert gateway.requests == 3
        # The first attempt wrote it; the retries with the same key were replays.
        assert result.replayed
        assert await claims_tagged(client, tag) == 1


async def test_gateway_errors_and_refused_connections_are_retried(
    server: LiveServer, writer_key: str
) -> None:
    use_clock(server, time.time)
    for mode in ("unavailable", "refuse"):
        gateway = Gateway(mode, failures=3)
        async with client_through(server, writer_key, gateway) as client:
            assert (await client.execute("query { edgeTypes { name } }"))["edgeTypes"]
        assert gateway.requests == 4


async def test_a_review_is_retried_only_when_it_never_reached_the_server(
    server: LiveServer, writer_key: str
) -> None:
    use_clock(server, time.time)
    async with PhiactaClient(server.url, writer_key) as direct:
        claim_id = (await direct.submit_bundle(one_claim_bundle(unique_name("rev")))).claims["only"]

    refused = Gateway("refuse", failures=1)
    async with client_through(server, writer_key, refused) as client:
        assert (await client.review(claim_id, "endorse")).review.verdict == "ENDORSE"
    assert refused.requests == 2

    lost = Gateway("lose_answer", failures=1)
    async with client_through(server, writer_key, lost) as client:
        with pytest.raises(Unavailable) as raised:
            await client.review(claim_id, "dispute")
    assert lost.requests == 1 and raised.value.status_code == 502
    assert isinstance(raised.value, ServerError)

    gone = Gateway("unavailable", failures=10)
    async with client_through(server, writer_key, gone) as client:
        with pytest.raises(Unavailable):
            await client.revise(claim_id, content="never sent twice")
    assert gone.requests == 1


async def test_a_server_that_never_answers_is_unavailable_after_the_retries() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        async with fast_client(f"http://127.0.0.1:{port}", "phk_x_y") as client:
            with pytest.raises(Unavailable) as raised:
                await client.claim(uuid.uuid4())
    assert raised.value.code == "UNAVAILABLE"
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
