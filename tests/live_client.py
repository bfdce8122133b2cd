"""Helpers for live-update tests: a graphql-transport-ws client and outbox writers."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import websockets
from websockets.asyncio.client import ClientConnection

from phiacta.store.events import append_event
from tests.support import check_json_body

PROTOCOL = "graphql-transport-ws"
WAIT_SECONDS = 15.0


async def open_socket(ws_url: str) -> ClientConnection:
    """A graphql-transport-ws WebSocket; retried while the server is not listening yet
    (LiveServer reports a finished startup a moment before uvicorn listens)."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            try:
                return await websockets.connect(ws_url, subprotocols=[PROTOCOL], max_queue=None)
            except ConnectionRefusedError:
                await asyncio.sleep(0.05)


class LiveClient:
    """One WebSocket speaking graphql-transport-ws; answers the server's pings."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.pings = 0
        self._ids = itertools.count(1)
        self._inbox: dict[str, deque[dict[str, Any]]] = defaultdict(deque)

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, ws_url: str, payload: dict[str, Any] | None = None
    ) -> AsyncIterator[LiveClient]:
        async with await open_socket(ws_url) as socket:
            client = cls(socket)
            await client.send({"type": "connection_init", "payload": payload or {}})
            message = await client._receive()
            assert message["type"] == "connection_ack", message
            yield client

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        op_id = str(next(self._ids))
        await self.send(
            {
                "id": op_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )
        return op_id

    async def message(self, op_id: str, within: float = WAIT_SECONDS) -> dict[str, Any]:
        """The next message (next, error or complete) of one operation."""
        async with asyncio.timeout(within):
            while not self._inbox[op_id]:
                message = await self._receive()
                self._inbox[str(message.get("id"))].append(message)
        return self._inbox[op_id].popleft()

    async def next_data(self, op_id: str, within: float = WAIT_SECONDS) -> dict[str, Any]:
        message = await self.message(op_id, within)
        assert message["type"] == "next", message
        assert not message["payload"].get("errors"), message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def _receive(self) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(await self.socket.recv())
            check_json_body(message)
            if message["type"] == "ping":
                self.pings += 1
                await self.send({"type": "pong"})
                continue
            return message


async def append_events(
    database_url: str, events: list[tuple[str, dict[str, Any]]], *, commit: bool = True
) -> list[int]:
    """Append events in one transaction, committed or rolled back; their ids."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        ids = [await append_event(conn, event_type, payload) for event_type, payload in events]
        if commit:
            await conn.commit()
        else:
            await conn.rollback()
    return ids


async def last_event_id(database_url: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        row = await (await conn.execute("SELECT coalesce(max(id), 0) FROM events")).fetchone()
    assert row is not None
    return int(row[0])


def claim_created(namespace: str = "live", **extra: Any) -> tuple[str, dict[str, Any]]:
    payload: dict[str, Any] = {
        "claim_id": str(uuid.uuid4()),
        "lineage_id": str(uuid.uuid4()),
        "version": 1,
        "claim_type": "assertion",
        "namespace_id": None,
        "namespace_path": namespace,
        "source_id": None,
        "bundle_id": None,
        "created_by": None,
    }
    payload.update(extra)
    return "claim_created", payload


async def until_subscribed(
    client: LiveClient,
    op_id: str,
    write_probe: Callable[[], Awaitable[str]],
    key: Callable[[dict[str, Any]], str],
) -> set[str]:
    """Write probe events that the subscription matches until one arrives, proving the
    subscription is live (the protocol has no subscribe acknowledgement). The keys of all
    probes written are returned so the test can skip late ones."""
    probes: set[str] = set()
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            probes.add(await write_probe())
            try:
                data = await client.next_data(op_id, within=0.3)
            except TimeoutError:
                continue
            assert key(data) in probes, data
            return probes


async def until_the_bus_has_passed_them(ws_url: str, database_url: str) -> None:
    """Return once the server's bus has moved past every event now in the outbox (until
    then `events(after)` replays only part of them, and the rest come live; an event
    inserted without a notification is not even noticed): append events it is notified
    of until one arrives live, of a type no other subscriber wants."""

    async def probe() -> str:
        (event_id,) = await append_events(database_url, [("bundle_accepted", {})])
        return str(event_id)

    async with LiveClient.connect(ws_url) as client:
        op = await client.subscribe('subscription { events(types: ["bundle_accepted"]) { id } }')
        await until_subscribed(client, op, probe, lambda data: str(data["events"]["id"]))
