"""Webhooks: signed deliveries of outbox events to a local receiver, with retries."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from phiacta.config import Settings
from tests.live_client import append_events, claim_created
from tests.support import (
    ApiKey,
    LiveServer,
    create_api_key,
    data_of,
    error_codes,
    gql,
    make_settings,
)

WAIT_SECONDS = 15.0
SECRET = "a-webhook-secret-of-some-length"

CREATE = """
mutation ($url: String!, $types: [String!], $filter: WebhookFilterInput, $secret: String!) {
  createWebhook(url: $url, eventTypes: $types, filter: $filter, secret: $secret) {
    id url eventTypes status filter { namespace }
  }
}
"""

DELIVERIES = """
query ($id: ID!) {
  webhookDeliveries(webhookId: $id, first: 10) {
    totalCount
    edges { node { eventId eventType status attempts lastStatusCode } }
  }
}
"""


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """A tiny HTTP server answering with the next status of `statuses` (then the last)."""

    statuses: list[int]
    received: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    url: str = ""

    def answer(self) -> int:
        return self.statuses[min(len(self.received), len(self.statuses) - 1)]

    def wait_for(self, condition: Callable[[list[Received]], bool]) -> list[Received]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: condition(self.received), WAIT_SECONDS), (
                self.received
            )
            return list(self.received)


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(
        database_url,
        tmp_path_factory.mktemp("data"),
        webhooks_allow_private=True,
        webhook_retry_delays="0.1,0.1,0.1,0.1",
        webhook_poll_interval_seconds=0.05,
    )


@pytest.fixture
def receiver_factory() -> Iterator[Callable[[list[int]], Receiver]]:
    servers: list[ThreadingHTTPServer] = []

    def start(statuses: list[int]) -> Receiver:
        receiver = Receiver(statuses)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    status = receiver.answer()
                    receiver.received.append(Received(dict(self.headers), body, status))
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(http)
        threading.Thread(target=http.serve_forever, daemon=True).start()
        receiver.url = f"http://127.0.0.1:{http.server_address[1]}/hook"
        return receiver

    yield start
    for http in servers:
        http.shutdown()
        http.server_close()


@pytest.fixture(scope="module")
def key(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["claims:read"])


def create_webhook(client: httpx.Client, key: ApiKey, **variables: Any) -> dict[str, Any]:
    body = gql(client, CREATE, {"secret": SECRET, **variables}, headers=key.headers)
    webhook: dict[str, Any] = data_of(body)["createWebhook"]
    return webhook


def append(database_url: str, events: list[tuple[str, dict[str, Any]]]) -> list[int]:
    import asyncio

    return asyncio.run(append_events(database_url, events))


def deliveries(client: httpx.Client, key: ApiKey, webhook_id: str) -> list[dict[str, Any]]:
    data = data_of(gql(client, DELIVERIES, {"id": webhook_id}, headers=key.headers))
    return [edge["node"] for edge in data["webhookDeliveries"]["edges"]]


def wait_for_deliveries(
    client: httpx.Client,
    key: ApiKey,
    webhook_id: str,
    condition: Callable[[list[dict[str, Any]]], bool],
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition(found := deliveries(client, key, webhook_id)):
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
    return found


def test_a_webhook_gets_a_signed_post_for_each_matching_event_only(
    client: httpx.Client,
    key: ApiKey,
    database_url: str,
    receiver_factory: Callable[[list[int]], Receiver],
) -> None:
    receiver = receiver_factory([200])
    ns = f"w{uuid.uuid4().hex[:8]}"
    hook = create_webhook(
        client, key, url=receiver.url, types=["claim_created"], filter={"namespace": ns}
    )
    assert hook["status"] == "ACTIVE" and hook["filter"]["namespace"] == ns
    wanted, _, _, marker = append(
        database_url,
        [
            claim_created(f"{ns}.sub"),
            claim_created(f"{ns}x"),
            ("edge_created", {"edge_id": str(uuid.uuid4()), "namespace_path": ns}),
            claim_created(ns),
        ],
    )
    received = receiver.wait_for(lambda r: len(r) >= 2)
    # Due deliveries are POSTed concurrently: they may arrive in either order.
    assert sorted(int(r.headers["X-Event-ID"]) for r in received) == [wanted, marker]
    for request in received:
        expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Signature"] == f"sha256={expected}"
        assert request.headers["X-Event-Type"] == "claim_created"
        assert abs(int(request.headers["X-Timestamp"]) - time.time()) < 60
    first = next(r for r in received if r.headers["X-Event-ID"] == str(wanted))
    envelope = httpx.Response(200, content=first.body).json()
    assert envelope["id"] == str(wanted) and envelope["type"] == "claim_created"
    assert envelope["payload"]["namespace_path"] == f"{ns}.sub"


def test_a_receiver_down_for_the_first_two_attempts_gets_the_event_exactly_once(
    client: httpx.Client,
    key: ApiKey,
    database_url: str,
    receiver_factory: Callable[[list[int]], Receiver],
) -> None:
    receiver = receiver_factory([503, 503, 200])
    ns = f"w{uuid.uuid4().hex[:8]}"
    hook = create_webhook(client, key, url=receiver.url, filter={"namespace": ns})
    (event_id,) = append(database_url, [claim_created(ns)])
    found = wait_for_deliveries(
        client, key, hook["id"], lambda d: bool(d) and d[0]["status"] == "DELIVERED"
    )
    assert found == [
        {
            "eventId": str(event_id),
            "eventType": "claim_created",
            "status": "DELIVERED",
            "attempts": 3,
            "lastStatusCode": 200,
        }
    ]
    received = receiver.wait_for(lambda r: len(r) >= 3)
    assert [r.status for r in received] == [503, 503, 200]
    assert {r.headers["X-Event-ID"] for r in received} == {str(event_id)}
    assert len({r.body for r in received}) == 1


def test_five_failures_in_a_row_mark_the_webhook_failing_and_it_can_be_deleted(
    client: httpx.Client,
    key: ApiKey,
    database_url: str,
    receiver_factory: Callable[[list[int]], Receiver],
) -> None:
    receiver = receiver_factory([500])
    ns = f"w{uuid.uuid4().hex[:8]}"
    hook = create_webhook(client, key, url=receiver.url, filter={"namespace": ns})
    append(database_url, [claim_created(ns)])
    found = wait_for_deliveries(
        client, key, hook["id"], lambda d: bool(d) and d[0]["status"] == "FAILED"
    )
    assert found[0]["attempts"] == 5 and found[0]["lastStatusCode"] == 500
    listed = data_of(
        gql(client, "{ webhooks { id status consecutiveFailures } }", headers=key.headers)
    )
    mine = [w for w in listed["webhooks"] if w["id"] == hook["id"]]
    assert mine == [{"id": hook["id"], "status": "FAILING", "consecutiveFailures": 5}]
    deleted = gql(
        client,
        "mutation ($id: ID!) { deleteWebhook(id: $id) }",
        {"id": hook["id"]},
        headers=key.headers,
    )
    assert data_of(deleted) == {"deleteWebhook": True}
    listed = data_of(gql(client, "{ webhooks { id } }", headers=key.headers))
    assert hook["id"] not in [w["id"] for w in listed["webhooks"]]


def test_another_agent_cannot_see_or_delete_a_webhook(
    client: httpx.Client, key: ApiKey, database_url: str
) -> None:
    hook = create_webhook(client, key, url="http://127.0.0.1:9/hook")
    other = create_api_key(database_url, ["claims:read"])
    body = gql(
        client,
        "mutation ($id: ID!) { deleteWebhook(id: $id) }",
        {"id": hook["id"]},
        headers=other.headers,
    )
    assert error_codes(body) == ["NOT_FOUND"]
    assert error_codes(gql(client, DELIVERIES, {"id": hook["id"]}, headers=other.headers)) == [
        "NOT_FOUND"
    ]
    assert error_codes(gql(client, "{ webhooks { id } }")) == ["UNAUTHENTICATED"]


def test_private_urls_and_bad_input_are_refused_with_every_path(
    database_url: str, tmp_path: Path, key: ApiKey
) -> None:
    settings = make_settings(database_url, tmp_path)
    with LiveServer.run(settings) as strict, httpx.Client(base_url=strict.url) as http:
        body = gql(
            http,
            CREATE,
            {
                "url": "http://127.0.0.1:8080/hook",
                "types": ["claim_created", "nope"],
                "filter": {"namespace": "Not A Path", "edgeTypes": ["supports", "nope"]},
                "secret": "short",
            },
            headers=key.headers,
        )
        listed = data_of(gql(http, "{ webhooks { id url } }", headers=key.headers))
    assert error_codes(body) == ["VALIDATION_FAILED"]
    paths = [d["path"] for d in body["errors"][0]["extensions"]["details"]]
    assert sorted(paths) == sorted(
        ["url", "secret", "eventTypes[1]", "filter.namespace", "filter.edgeTypes[1]"]
    )
    assert "http://127.0.0.1:8080/hook" not in [w["url"] for w in listed["webhooks"]]


def test_an_event_about_a_draft_is_delivered_to_its_creators_webhook_only(
    client: httpx.Client,
    key: ApiKey,
    database_url: str,
    receiver_factory: Callable[[list[int]], Receiver],
) -> None:
    stranger_receiver, author_receiver = receiver_factory([200]), receiver_factory([200])
    author = create_api_key(database_url, ["claims:read"])
    ns = f"w{uuid.uuid4().hex[:8]}"
    stranger_hook = create_webhook(
        client, key, url=stranger_receiver.url, types=["claim_created"], filter={"namespace": ns}
    )
    author_hook = create_webhook(
        client, author, url=author_receiver.url, types=["claim_created"], filter={"namespace": ns}
    )
    draft, public = append(
        database_url,
        [
            claim_created(ns, created_by=str(author.agent_id), private_to=str(author.agent_id)),
            claim_created(ns, created_by=str(author.agent_id)),
        ],
    )
    mine = wait_for_deliveries(client, author, author_hook["id"], lambda d: len(d) >= 2)
    assert sorted(int(d["eventId"]) for d in mine) == [draft, public]
    theirs = wait_for_deliveries(client, key, stranger_hook["id"], lambda d: len(d) >= 1)
    # The stranger's webhook saw the public event; the draft's was never queued for it.
    assert [int(d["eventId"]) for d in theirs] == [public]
