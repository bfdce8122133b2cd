"""`subscribe` against a live server: a stream that survives killed connections and a
server it cannot reach for a while, with no event lost or seen twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from phiacta.sdk import (
    AuthenticationError,
    BundleClaim,
    BundleInput,
    BundleSource,
    Event,
    PhiactaClient,
)
from tests.live_client import WAIT_SECONDS, last_event_id
from tests.support import ApiKey, LiveServer, create_api_key, unique_name

TYPES = ["claim_created", "bundle_accepted"]


class TcpProxy:
    """A TCP relay in front of the live server that a test can cut: `drop()` aborts
    every connection (the server's side of the socket dies with it) and, while
    `refusing`, new connections are closed at once."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.refusing = False
        self.connections = 0
        self.refused = asyncio.Event()
        self._open: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)

    async def stop(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        if self.refusing:
            self.refused.set()
            client_out.transport.abort()
            return
        self.connections += 1
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._open.update({client_out, server_out})
        await asyncio.gather(self._pipe(client_in, server_out), self._pipe(server_in, client_out))

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.transport.abort()
        self._open.discard(sink)


@pytest.fixture
async def proxy(server: LiveServer) -> AsyncIterator[TcpProxy]:
    relay = TcpProxy(int(server.url.rsplit(":", 1)[1]))
    await relay.start()
    yield relay
    await relay.stop()


@pytest.fixture(scope="module")
def writer(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["bundles:write", "claims:read"])


class Collector:
    """Consumes a subscription in a task; the test waits for counts of events."""

    def __init__(self, stream: AsyncIterator[Event]) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._collect(stream))

    async def _collect(self, stream: AsyncIterator[Event]) -> None:
        async for event in stream:
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    async def until(self, count: int) -> None:
        async with asyncio.timeout(WAIT_SECONDS), self._changed:
            await self._changed.wait_for(lambda: len(self.events) >= count or self._task.done())
        if self._task.done():
            self._task.result()  # raises what stopped the stream

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def submit(writer: PhiactaClient, tag: str) -> set[str]:
    """A bundle of two claims; the ids its three events (2 claims, 1 bundle) carry."""
    result = await writer.submit_bundle(
        BundleInput(
            source=BundleSource("manual_entry", title=tag),
            claims=[BundleClaim("a", f"First of {tag}"), BundleClaim("b", f"Second of {tag}")],
        )
    )
    return {str(result.bundle_id), *(str(i) for i in result.claims.values())}


def subject_of(event: Event) -> str:
    return str(event.payload.get("claim_id") or event.payload.get("bundle_id"))


async def test_the_stream_resumes_across_killed_connections_without_loss_or_repeats(
    server: LiveServer, proxy: TcpProxy, writer: ApiKey, database_url: str
) -> None:
    start = await last_event_id(database_url)
    async with (
        PhiactaClient(server.url, writer.raw) as direct,
        PhiactaClient(proxy.url, writer.raw, max_retries=100, backoff_max=0.2) as through,
    ):
        collector = Collector(through.subscribe(TYPES, after=str(start)))
        try:
            expected: set[str] = set()
            for round_ in range(2):
                expected |= await submit(direct, unique_name(f"live{round_}"))
            await collector.until(6)

            proxy.drop()  # the live connection dies mid-stream
            expected |= await submit(direct, unique_name("during"))
            await collector.until(9)

            proxy.refusing = True  # the server is out of reach for a while
            proxy.drop()
            async with asyncio.timeout(WAIT_SECONDS):
                await proxy.refused.wait()  # the client is trying, and failing
            for round_ in range(2):
                expected |= await submit(direct, unique_name(f"away{round_}"))
            proxy.refusing = False
            await collector.until(15)
        finally:
            await collector.stop()

    ids = [event.position for event in collector.events]
    assert ids == sorted(set(ids)), "every event once, in order"
    assert {subject_of(event) for event in collector.events} == expected
    assert len(collector.events) == 15
    assert proxy.connections >= 3


async def test_a_stream_can_start_from_the_beginning_and_stop_early(
    server: LiveServer, writer: ApiKey
) -> None:
    async with PhiactaClient(server.url, writer.raw) as client:
        await submit(client, unique_name("early"))
        stream = client.subscribe(["bundle_accepted"], after="0")
        first = await anext(stream)
        await stream.aclose()
    assert first.type == "bundle_accepted" and first.position > 0


async def test_a_refused_key_ends_the_stream_with_an_authentication_error(
    server: LiveServer,
) -> None:
    async with PhiactaClient(server.url, "phk_nope_nope") as client:
        with pytest.raises(AuthenticationError):
            await anext(client.subscribe())
