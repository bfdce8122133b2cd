"""Faults of the live transport: revocation, caps, and input refused before it runs."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from phiacta.events.pacing import BURST_SECONDS
from tests.live_client import (
    LiveClient,
    append_events,
    claim_created,
    until_subscribed,
    until_the_bus_has_passed_them,
)
from tests.support import LiveServer, create_api_key, data_of, gql, make_settings

PER_SOCKET = 3
PER_CLIENT = 5
REPLAY_PACE = 200  # events per second per client


@pytest.fixture(scope="module")
def servers(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[LiveServer]]:
    """Two replicas of one database, with small subscription caps."""
    settings = make_settings(
        database_url,
        tmp_path_factory.mktemp("live"),
        subscriptions_per_socket=PER_SOCKET,
        subscriptions_per_client=PER_CLIENT,
        subscription_replay_events_per_second=REPLAY_PACE,
    )
    with LiveServer.run(settings) as first, LiveServer.run(settings) as second:
        yield [first, second]


CLAIMS = 'subscription { events(types: ["claim_created"]) { id payload } }'
REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }"


async def test_revoking_a_key_closes_its_sockets_on_every_replica(
    servers: list[LiveServer], database_url: str
) -> None:
    key = await asyncio.to_thread(create_api_key, database_url, ["claims:read"])
    reader, writer = servers
    namespace = f"rev{uuid.uuid4().hex[:8]}"
    auth = {"Authorization": f"Bearer {key.raw}"}
    async with (
        LiveClient.connect(reader.ws_url, auth) as client,
        LiveClient.connect(reader.ws_url) as anonymous,
    ):
        op = await client.subscribe(CLAIMS)
        everything = await anonymous.subscribe("subscription { events { type payload } }")

        async def probe() -> str:
            (event_id,) = await append_events(database_url, [claim_created(namespace)])
            return str(event_id)

        await until_subscribed(client, op, probe, lambda d: d["events"]["id"])
        with httpx.Client(base_url=writer.url, timeout=30) as http:
            data_of(gql(http, REVOKE, {"id": str(key.key_id)}, headers=auth))
        async with asyncio.timeout(10):
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await client.message(op)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        # The revocation is the servers' business: no client is shown it.
        last = claim_created(namespace)
        await append_events(database_url, [last])
        seen = []
        while True:
            event = (await anonymous.next_data(everything))["events"]
            seen.append(event["type"])
            if event["payload"].get("claim_id") == last[1]["claim_id"]:
                break
    assert "api_key_revoked" not in seen and "claim_created" in seen


async def test_subscriptions_are_capped_per_socket_and_per_client(
    servers: list[LiveServer],
) -> None:
    url = servers[0].ws_url
    async with LiveClient.connect(url) as first, LiveClient.connect(url) as second:
        accepted = [await first.subscribe(CLAIMS) for _ in range(PER_SOCKET)]
        over = await first.subscribe(CLAIMS)
        assert await limit_exceeded(first, over)
        accepted += [await second.subscribe(CLAIMS) for _ in range(PER_CLIENT - PER_SOCKET)]
        over_client = await second.subscribe(CLAIMS)
        assert await limit_exceeded(second, over_client)
        # Completing one frees its place (once the server has processed the complete).
        await first.send({"id": accepted[0], "type": "complete"})
        async with asyncio.timeout(10):
            while True:
                again = await second.subscribe(CLAIMS)
                try:
                    refused = await limit_exceeded(second, again, within=0.5)
                except TimeoutError:
                    break  # running: neither an error nor data
                assert refused


async def limit_exceeded(client: LiveClient, op: str, within: float = 15.0) -> bool:
    message = await client.message(op, within)
    assert message["type"] == "error", message
    return bool(message["payload"][0]["extensions"]["code"] == "LIMIT_EXCEEDED")


@pytest.mark.parametrize("after", ["²", "٣", "12345678901234567890", str(2**63), "-1", "1 ", ""])
async def test_an_after_that_is_not_an_event_id_is_refused(
    servers: list[LiveServer], after: str
) -> None:
    async with LiveClient.connect(servers[0].ws_url) as client:
        op = await client.subscribe(
            "subscription($a: String) { events(after: $a) { id } }", {"a": after}
        )
        message = await client.message(op)
    errors: list[dict[str, Any]] = (
        message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    )
    assert errors[0]["extensions"]["code"] == "VALIDATION_FAILED", message
    assert errors[0]["extensions"]["details"][0]["path"] == "after"


async def test_unstorable_text_in_a_subscription_is_refused_with_its_path(
    servers: list[LiveServer],
) -> None:
    async with LiveClient.connect(servers[0].ws_url) as client:
        op = await client.subscribe(
            "subscription($t: String!) "
            "{ claimCreated(filter: {similarTo: {text: $t}}) { eventId } }",
            {"t": "a\u0000b"},
        )
        message = await client.message(op)
    assert message["type"] == "error", message
    [error] = message["payload"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["extensions"]["details"][0]["path"] == "variables.t"


async def test_a_clients_replays_share_one_pace_over_all_its_sockets(
    servers: list[LiveServer], database_url: str
) -> None:
    url = servers[0].ws_url
    ids = await append_events(database_url, [claim_created("pace") for _ in range(100)])
    await until_the_bus_has_passed_them(url, database_url)
    replay = f'subscription {{ events(after: "{ids[0] - 1}", types: ["claim_created"]) {{ id }} }}'
    async with LiveClient.connect(url) as one, LiveClient.connect(url) as other:
        started = time.monotonic()
        ops = [(client, await client.subscribe(replay)) for client in (one, other) * 2]
        for client, op in ops:
            seen = [(await client.next_data(op))["events"]["id"] for _ in ids]
            assert seen == [str(i) for i in ids]
        elapsed = time.monotonic() - started
    # Counted, not timed: whatever the machine's load, the server cannot have sent more
    # than a burst, one event per replay taking its turn, and the pace since the start.
    sent = len(ops) * len(ids)
    assert sent <= REPLAY_PACE * BURST_SECONDS + len(ops) + REPLAY_PACE * elapsed
