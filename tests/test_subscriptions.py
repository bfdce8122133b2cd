"""Subscriptions over graphql-transport-ws, driven by commits to the outbox."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from websockets.exceptions import ConnectionClosed

from phiacta.config import Settings
from phiacta.graphql.fields.subscriptions import SLOW_SUBSCRIBER_CLOSE_CODE
from phiacta.store.events import append_event
from tests.live_client import (
    LiveClient,
    append_events,
    claim_created,
    last_event_id,
    until_subscribed,
)
from tests.support import ApiKey, LiveServer, create_api_key, make_settings
from tests.test_cli_serve import base_env

EVENTS = """
subscription ($types: [String!], $after: String) {
  events(types: $types, after: $after) { id type payload }
}
"""

CLAIM_CREATED = """
subscription ($filter: ClaimCreatedFilter) {
  claimCreated(filter: $filter) { eventId claimId claimType namespacePath sourceId }
}
"""


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(
        database_url, tmp_path_factory.mktemp("data"), subscription_keep_alive_seconds=0.2
    )


async def received_ids(client: LiveClient, op_id: str, count: int) -> list[int]:
    return [int((await client.next_data(op_id))["events"]["id"]) for _ in range(count)]


async def test_a_subscriber_sees_each_committed_event_and_none_rolled_back(
    server: LiveServer, database_url: str
) -> None:
    start = await last_event_id(database_url)
    async with LiveClient.connect(server.ws_url) as client:
        op = await client.subscribe(EVENTS, {"after": str(start)})
        (first,) = await append_events(database_url, [claim_created()])
        (rolled_back,) = await append_events(database_url, [claim_created()], commit=False)
        second, third = await append_events(database_url, [claim_created(), claim_created()])
        ids = await received_ids(client, op, 3)
    assert ids == [first, second, third]
    assert first < rolled_back < second


async def test_interleaved_writers_commit_event_ids_in_order(
    server: LiveServer, database_url: str
) -> None:
    start = await last_event_id(database_url)
    async with (
        LiveClient.connect(server.ws_url) as client,
        await psycopg.AsyncConnection.connect(database_url) as writer_a,
        await psycopg.AsyncConnection.connect(database_url) as writer_b,
        await psycopg.AsyncConnection.connect(database_url, autocommit=True) as observer,
    ):
        op = await client.subscribe(EVENTS, {"after": str(start)})
        id_a = await append_event(writer_a, *claim_created())
        # B would draw the next id now and could commit before A; instead it waits.
        appending_b = asyncio.create_task(append_event(writer_b, *claim_created()))
        await wait_until_blocked_on_a_lock(observer, writer_b.info.backend_pid)
        assert not appending_b.done()
        await writer_a.commit()
        id_b = await asyncio.wait_for(appending_b, 10)
        await writer_b.commit()
        ids = await received_ids(client, op, 2)
    assert id_a < id_b
    assert ids == [id_a, id_b]


async def wait_until_blocked_on_a_lock(observer: psycopg.AsyncConnection[Any], pid: int) -> None:
    async with asyncio.timeout(10):
        while True:
            cur = await observer.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            )
            row = await cur.fetchone()
            if row is not None and row[0] == "Lock":
                return
            await asyncio.sleep(0.01)


async def test_events_after_replays_then_goes_live_with_no_gap_and_no_duplicate(
    server: LiveServer, database_url: str
) -> None:
    start = await last_event_id(database_url)
    backlog = await append_events(database_url, [claim_created() for _ in range(600)])
    written = list(backlog)

    async def keep_writing(count: int) -> None:
        for _ in range(count):
            written.extend(await append_events(database_url, [claim_created()]))

    async with LiveClient.connect(server.ws_url) as client:
        # Two concurrent writers keep committing while the replay is being sent.
        writers = asyncio.gather(keep_writing(60), keep_writing(60))
        op = await client.subscribe(EVENTS, {"after": str(start)})
        await writers
        ids = await received_ids(client, op, len(written))
        # Nothing beyond what was written arrives: the next event is a fresh marker.
        (marker,) = await append_events(database_url, [claim_created()])
        assert await received_ids(client, op, 1) == [marker]
    assert ids == sorted(written)
    assert len(set(ids)) == len(ids) == 720


async def test_events_filters_by_type_and_resumes_after_an_id(
    server: LiveServer, database_url: str
) -> None:
    first_edge, _claim, second_edge = await append_events(
        database_url, [edge_created(), claim_created(), edge_created()]
    )
    async with LiveClient.connect(server.ws_url) as client:
        op = await client.subscribe(EVENTS, {"types": ["edge_created"], "after": str(first_edge)})
        data = await client.next_data(op)
    assert data["events"]["id"] == str(second_edge)
    assert data["events"]["type"] == "edge_created"
    assert data["events"]["payload"]["edge_type"] == "supports"


async def test_claim_created_selects_by_namespace_subtree_claim_type_and_source(
    server: LiveServer, database_url: str
) -> None:
    ns = f"t{uuid.uuid4().hex[:8]}"
    source = str(uuid.uuid4())
    wanted = {"claim_type": "theorem", "source_id": source}
    async with LiveClient.connect(server.ws_url) as client:
        op = await client.subscribe(
            CLAIM_CREATED,
            {"filter": {"namespace": ns, "claimType": "THEOREM", "source": source}},
        )

        async def probe() -> str:
            event = claim_created(ns, **wanted)
            await append_events(database_url, [event])
            return str(event[1]["claim_id"])

        probes = await until_subscribed(client, op, probe, lambda d: d["claimCreated"]["claimId"])
        matching = [claim_created(ns, **wanted), claim_created(f"{ns}.deeper.still", **wanted)]
        others = [
            claim_created(f"{ns}x", **wanted),  # a sibling sharing the prefix, not the subtree
            claim_created(ns, claim_type="assertion", source_id=source),
            claim_created(ns, claim_type="theorem", source_id=str(uuid.uuid4())),
            ("claim_revised", {**claim_created(ns, **wanted)[1], "previous_id": None}),
        ]
        marker = claim_created(ns, **wanted)
        await append_events(database_url, [matching[0], *others, matching[1]])
        await append_events(database_url, [marker])
        seen: list[str] = []
        while marker[1]["claim_id"] not in seen:
            data = (await client.next_data(op))["claimCreated"]
            if data["claimId"] not in probes:
                seen.append(data["claimId"])
                assert data["claimType"] == "THEOREM" and data["sourceId"] == source
    assert seen == [matching[0][1]["claim_id"], matching[1][1]["claim_id"], marker[1]["claim_id"]]


async def test_the_server_pings_an_idle_subscriber(server: LiveServer) -> None:
    async with LiveClient.connect(server.ws_url) as client:
        op = await client.subscribe(EVENTS)
        with pytest.raises(TimeoutError):
            await client.message(op, within=0.7)
    assert client.pings >= 2


async def test_bad_subscription_arguments_are_reported_with_every_path(
    server: LiveServer,
) -> None:
    async with LiveClient.connect(server.ws_url) as client:
        op = await client.subscribe(EVENTS, {"types": ["claim_created", "nope"], "after": "x"})
        message = await client.message(op)
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    (error,) = errors
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert [d["path"] for d in error["extensions"]["details"]] == ["types[1]", "after"]


async def test_a_subscriber_that_overflows_its_buffer_is_closed_and_others_continue(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, subscription_queue_size=4)

    async def edge_probe() -> str:
        (event_id,) = await append_events(database_url, [edge_created()])
        return str(event_id)

    async def claim_probe() -> str:
        (event_id,) = await append_events(database_url, [claim_created()])
        return str(event_id)

    with LiveServer.run(settings) as small:
        async with (
            LiveClient.connect(small.ws_url) as slow,
            LiveClient.connect(small.ws_url) as other,
        ):
            slow_op = await slow.subscribe(EVENTS)
            await until_subscribed(slow, slow_op, claim_probe, lambda d: d["events"]["id"])
            other_op = await other.subscribe(EVENTS, {"types": ["edge_created"]})
            probes = await until_subscribed(
                other, other_op, edge_probe, lambda d: d["events"]["id"]
            )
            # One transaction: the bus hands all eleven events over at once, more than
            # the slow subscriber's buffer of four holds.
            ids = await append_events(
                database_url, [*[claim_created() for _ in range(10)], edge_created()]
            )
            while (data := await other.next_data(other_op))["events"]["id"] in probes:
                pass
            assert data["events"]["id"] == str(ids[-1])
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await slow.message(slow_op)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == SLOW_SUBSCRIBER_CLOSE_CODE


def edge_created() -> tuple[str, dict[str, Any]]:
    return "edge_created", {"edge_id": str(uuid.uuid4()), "edge_type": "supports"}


SUBMIT = """
mutation ($input: SubmitBundleInput!) {
  submitBundle(input: $input) { bundleId claims { tempId id } }
}
"""


def bundle_input(namespace: str, contents: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "idempotencyKey": uuid.uuid4().hex,
        "namespace": namespace,
        "createNamespaces": True,
        "source": {"sourceType": "MANUAL_ENTRY", "title": "subscription test"},
        "claims": [{"tempId": f"c{i}", "content": text} for i, text in enumerate(contents)],
        **extra,
    }


async def submit(server: LiveServer, key: ApiKey, input: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, headers=key.headers, timeout=60) as http:
        response = await http.post(
            "/graphql", json={"query": SUBMIT, "variables": {"input": input}}
        )
    body: dict[str, Any] = response.json()
    return body


async def test_committed_bundles_are_seen_and_a_rejected_bundle_is_not(
    server: LiveServer, database_url: str
) -> None:
    key = await asyncio.to_thread(create_api_key, database_url, ["bundles:write"])
    ns = f"b{uuid.uuid4().hex[:8]}"
    start = await last_event_id(database_url)
    async with LiveClient.connect(server.ws_url) as client:
        op = await client.subscribe(EVENTS, {"after": str(start)})
        first = await submit(server, key, bundle_input(ns, ["first claim one", "first claim two"]))
        bad_edge = {"source": {"tempId": "c0"}, "target": {"tempId": "c1"}, "edgeType": "nope"}
        rejected = await submit(
            server, key, bundle_input(ns, ["rejected one", "rejected two"], edges=[bad_edge])
        )
        second = await submit(server, key, bundle_input(ns, ["second claim"]))
        events = [(await client.next_data(op))["events"] for _ in range(5)]
    assert rejected["errors"] and not rejected.get("data")
    bundle_ids = [b["data"]["submitBundle"]["bundleId"] for b in (first, second)]
    assert [e["type"] for e in events] == [
        "claim_created",
        "claim_created",
        "bundle_accepted",
        "claim_created",
        "bundle_accepted",
    ]
    assert [e["payload"]["bundle_id"] for e in events] == [bundle_ids[0]] * 3 + [bundle_ids[1]] * 2


async def test_claim_created_similar_to_selects_claims_close_to_the_text(
    server: LiveServer, database_url: str
) -> None:
    key = await asyncio.to_thread(create_api_key, database_url, ["bundles:write"])
    ns = f"s{uuid.uuid4().hex[:8]}"
    anchor = await submit(
        server, key, bundle_input(ns, ["aspirin lowers the risk of heart attacks in adults"])
    )
    anchor_id = anchor["data"]["submitBundle"]["claims"][0]["id"]
    filter = {
        "similarTo": {
            "text": "aspirin reduces the risk of a first heart attack in adults over 50",
            "minSimilarity": 0.6,
        }
    }
    async with LiveClient.connect(server.ws_url) as client:
        op = await client.subscribe(
            "subscription ($f: ClaimCreatedFilter) "
            "{ claimCreated(filter: $f) { eventId claimId similarity claim { content } } }",
            {"f": filter},
        )

        async def probe() -> str:
            # Another event about the anchor claim: similar, so it passes the filter.
            (event_id,) = await append_events(database_url, [claim_created(claim_id=anchor_id)])
            return str(event_id)

        probes = await until_subscribed(client, op, probe, lambda d: d["claimCreated"]["eventId"])
        await submit(
            server,
            key,
            bundle_input(
                ns,
                [
                    "water boils at 100 degrees celsius at sea level",
                    "daily low-dose aspirin cuts heart attack risk in older adults",
                ],
            ),
        )
        (marker,) = await append_events(database_url, [claim_created(claim_id=anchor_id)])
        seen = []
        while (data := (await client.next_data(op))["claimCreated"])["eventId"] != str(marker):
            if data["eventId"] not in probes:
                seen.append(data)
    assert [d["claim"]["content"] for d in seen] == [
        "daily low-dose aspirin cuts heart attack risk in older adults"
    ]
    assert seen[0]["similarity"] >= 0.6


def test_events_prune_deletes_events_older_than_the_retention_only(
    database_url: str, tmp_path: Path
) -> None:
    old = asyncio.run(append_events(database_url, [claim_created(), claim_created()]))
    fresh = asyncio.run(append_events(database_url, [claim_created()]))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE events SET created_at = now() - interval '8 days' WHERE id = ANY(%s)", (old,)
        )
    env = base_env(tmp_path / "data", DATABASE_URL=database_url)
    result = subprocess.run(
        [sys.executable, "-m", "phiacta", "events", "prune"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.startswith("pruned 2 events")
    with psycopg.connect(database_url) as conn:
        left = conn.execute("SELECT id FROM events WHERE id = ANY(%s)", (old + fresh,)).fetchall()
    assert [row[0] for row in left] == fresh
