"""Subscriptions across server processes, and across a lost LISTEN connection."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from phiacta.events.bus import LISTENER_APPLICATION_NAME
from phiacta.store.events import append_event
from tests.live_client import LiveClient, append_events, claim_created, until_subscribed
from tests.support import TEST_API_KEY_SALT, LiveServer, create_api_key, data_of, gql
from tests.test_cli_serve import base_env, serving

EVENTS = """
subscription { events(types: ["claim_created", "bundle_accepted"]) { id type payload } }
"""

SUBMIT = """
mutation ($input: SubmitBundleInput!) { submitBundle(input: $input) { bundleId } }
"""


def bundle(namespace: str, contents: list[str]) -> dict[str, Any]:
    return {
        "idempotencyKey": uuid.uuid4().hex,
        "namespace": namespace,
        "createNamespaces": True,
        "source": {"sourceType": "MANUAL_ENTRY", "title": "replica test"},
        "claims": [{"tempId": f"c{i}", "content": text} for i, text in enumerate(contents)],
    }


async def test_a_subscriber_on_one_server_receives_every_commit_made_through_another(
    database_url: str, tmp_path: Path
) -> None:
    key = await asyncio.to_thread(create_api_key, database_url, ["bundles:write"])
    env = base_env(tmp_path / "data", DATABASE_URL=database_url, API_KEY_SALT=TEST_API_KEY_SALT)
    ns = f"replica{uuid.uuid4().hex[:8]}"
    with serving(env, tmp_path) as reader_url, serving(env, tmp_path) as writer_url:
        ws_url = reader_url.replace("http://", "ws://") + "/graphql"
        async with LiveClient.connect(ws_url) as client:
            op = await client.subscribe(EVENTS)

            async def probe() -> str:
                (event_id,) = await append_events(database_url, [claim_created(ns)])
                return str(event_id)

            probes = await until_subscribed(client, op, probe, lambda d: d["events"]["id"])
            with httpx.Client(base_url=writer_url, headers=key.headers, timeout=60) as writer:
                bundle_ids = [
                    data_of(gql(writer, SUBMIT, {"input": bundle(ns, [f"claim {i} a", "b"])}))[
                        "submitBundle"
                    ]["bundleId"]
                    for i in range(5)
                ]
            received: list[dict[str, Any]] = []
            while len([e for e in received if e["type"] == "bundle_accepted"]) < 5:
                event = (await client.next_data(op))["events"]
                if event["id"] not in probes:
                    received.append(event)
    assert [e["payload"]["bundle_id"] for e in received if e["type"] == "bundle_accepted"] == (
        bundle_ids
    )
    assert len([e for e in received if e["type"] == "claim_created"]) == 10
    ids = [int(e["id"]) for e in received]
    assert ids == sorted(set(ids))


async def test_events_committed_while_the_listen_connection_is_down_are_still_delivered(
    server: LiveServer, database_url: str
) -> None:
    database = database_url.rsplit("/", 1)[-1].split("?")[0]
    async with (
        LiveClient.connect(server.ws_url) as client,
        await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin,
        await psycopg.AsyncConnection.connect(database_url) as writer,
    ):
        op = await client.subscribe(EVENTS)

        async def probe() -> str:
            (event_id,) = await append_events(database_url, [claim_created()])
            return str(event_id)

        async def commit(count: int) -> list[int]:
            ids = [await append_event(writer, *claim_created()) for _ in range(count)]
            await writer.commit()
            return ids

        probes = await until_subscribed(client, op, probe, lambda d: d["events"]["id"])
        before = await append_events(database_url, [claim_created()])
        (old_pid,) = await listeners(admin, database)
        # Terminate the listener (waiting until its backend is gone) and commit at once:
        # the bus reconnects only after a backoff, so these commits land while it is away.
        await admin.execute("SELECT pg_terminate_backend(%s, 5000)", (old_pid[0],))
        during = await commit(3)
        during += await commit(1)
        committed_by = await now(admin)
        after = await append_events(database_url, [claim_created()])
        expected = before + during + after
        received: list[int] = []
        while len(received) < len(expected):
            event_id = (await client.next_data(op))["events"]["id"]
            if event_id not in probes:
                received.append(int(event_id))
        (new_pid,) = await listeners(admin, database)
    assert received == expected
    assert new_pid[0] != old_pid[0]
    # The proof that `during` was committed while no listener was connected.
    assert committed_by < new_pid[1]


async def listeners(admin: psycopg.AsyncConnection[Any], database: str) -> list[tuple[int, Any]]:
    """(pid, backend_start) of the listener connections of `database`."""
    cur = await admin.execute(
        "SELECT pid, backend_start FROM pg_stat_activity "
        "WHERE application_name = %s AND datname = %s",
        (LISTENER_APPLICATION_NAME, database),
    )
    return [(int(row[0]), row[1]) for row in await cur.fetchall()]


async def now(admin: psycopg.AsyncConnection[Any]) -> Any:
    row = await (await admin.execute("SELECT clock_timestamp()")).fetchone()
    assert row is not None
    return row[0]
