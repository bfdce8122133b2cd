"""Many subscribers of one event: results are executed and encoded once per group of
identical subscriptions (`phiacta.graphql.engine.live_sharing`), yet each subscriber sees
exactly what it would alone, under its own operation id."""

from __future__ import annotations

import uuid
from contextlib import AsyncExitStack
from typing import Any

import pytest

from phiacta.config import Settings
from tests.live_client import LiveClient, append_events, claim_created, last_event_id
from tests.support import LiveServer, make_settings

EVENTS = """
subscription ($types: [String!], $after: String) {
  events(types: $types, after: $after) { id type payload }
}
"""

EVENT_IDS = """
subscription ($after: String) { events(after: $after) { id } }
"""


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("data"))


async def test_identical_subscriptions_each_get_every_event_under_their_own_operation_id(
    server: LiveServer, database_url: str
) -> None:
    start = str(await last_event_id(database_url))
    ns = f"f{uuid.uuid4().hex[:8]}"
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(LiveClient.connect(server.ws_url)) for _ in range(4)
        ]
        same = {"types": ["claim_created"], "after": start}
        # Two identical operations on one socket too: their ids tell them apart.
        ops = [(client, await client.subscribe(EVENTS, same)) for client in clients]
        ops.append((clients[0], await clients[0].subscribe(EVENTS, same)))
        other_shape = (clients[1], await clients[1].subscribe(EVENT_IDS, {"after": start}))
        edges_only = (
            clients[2],
            await clients[2].subscribe(EVENTS, {"types": ["edge_created"], "after": start}),
        )
        written = await append_events(
            database_url,
            [claim_created(f"{ns}.a"), ("edge_created", {"edge_id": str(uuid.uuid4())})],
        )
        written += await append_events(database_url, [claim_created(f"{ns}.b")])
        claim_ids = [written[0], written[2]]

        async def events_of(client: LiveClient, op: str, count: int) -> list[dict[str, Any]]:
            return [(await client.next_data(op))["events"] for _ in range(count)]

        seen = [await events_of(client, op, 2) for client, op in ops]
        ids_only = await events_of(*other_shape, 3)
        edges = await events_of(*edges_only, 1)

    assert ops[-1][1] != ops[0][1]
    for events in seen:
        assert [int(str(e["id"])) for e in events] == claim_ids
        assert [e["type"] for e in events] == ["claim_created", "claim_created"]
        assert [e["payload"]["namespace_path"] for e in events] == [f"{ns}.a", f"{ns}.b"]
    assert seen.count(seen[0]) == len(seen)
    assert ids_only == [{"id": str(event_id)} for event_id in written]
    assert [int(str(e["id"])) for e in edges] == [written[1]]


async def test_a_completed_operation_gets_nothing_more_while_its_twin_goes_on(
    server: LiveServer, database_url: str
) -> None:
    start = str(await last_event_id(database_url))
    async with (
        LiveClient.connect(server.ws_url) as client,
        LiveClient.connect(server.ws_url) as other,
    ):
        stopped = await client.subscribe(EVENT_IDS, {"after": start})
        going = await client.subscribe(EVENT_IDS, {"after": start})
        watcher = await other.subscribe(EVENT_IDS, {"after": start})
        (first,) = await append_events(database_url, [claim_created()])
        for op in (stopped, going):
            assert (await client.next_data(op))["events"]["id"] == str(first)
        assert (await other.next_data(watcher))["events"]["id"] == str(first)
        await client.send({"id": stopped, "type": "complete"})
        # The watcher on another socket seeing the second event proves it was fanned out.
        (second,) = await append_events(database_url, [claim_created()])
        assert (await other.next_data(watcher))["events"]["id"] == str(second)
        assert (await client.next_data(going))["events"]["id"] == str(second)
        (third,) = await append_events(database_url, [claim_created()])
        assert (await client.next_data(going))["events"]["id"] == str(third)
    # Messages arrive in order on one socket: nothing for `stopped` came before `third`.
    assert not client._inbox[stopped]
