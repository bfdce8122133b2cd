"""Retracting a claim puts exactly its dependents at risk, visibly: Claim.atRisk with
paths, the atRisk filter, a subscription and a webhook; un-retracting clears it."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

import httpx
import pytest

from phiacta.config import Settings
from tests.factories import Factory
from tests.live_client import LiveClient, append_events, until_subscribed
from tests.support import ApiKey, LiveServer, create_api_key, data_of, gql, make_settings

WAIT_SECONDS = 15.0


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(
        database_url,
        tmp_path_factory.mktemp("data"),
        webhooks_allow_private=True,
        webhook_poll_interval_seconds=0.05,
    )


class Receiver:
    """A local HTTP server keeping the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    receiver.bodies.append(json.loads(body))
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hook"

    def wait_for(
        self, count: int, wanted: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]:
        """The first `count` bodies that are `wanted`, once they have arrived."""

        def found() -> list[dict[str, Any]]:
            return [body for body in self.bodies if wanted(body)]

        with self.arrived:
            assert self.arrived.wait_for(lambda: len(found()) >= count, WAIT_SECONDS)
            return found()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.http.shutdown()
    found.http.server_close()


@pytest.fixture(scope="module")
def keys(database_url: str) -> tuple[ApiKey, ApiKey]:
    return (
        create_api_key(database_url, ["claims:write"]),
        create_api_key(database_url, ["claims:read"]),
    )


@pytest.fixture(scope="module")
def graph(database_url: str, keys: tuple[ApiKey, ApiKey]) -> dict[str, UUID]:
    """C -> B -> A -> R (depends_on), a branch D -> A, and I which R implies; and claims
    that do not stand on R: F (a premise of R), Z (which implies R), Y -> X elsewhere.
    `marker` is the tag in every claim's attrs."""
    author = keys[0].agent_id
    tag = uuid.uuid4()
    marker = {"risk_test": str(tag)}
    make = Factory(database_url)
    claims = {
        name: make.claim(f"{name} {marker['risk_test']}", created_by=author, attrs=marker)
        for name in ("R", "A", "B", "C", "D", "F", "X", "Y", "Z", "I")
    }
    for source, target, edge_type in (
        ("A", "R", "depends_on"),
        ("B", "A", "depends_on"),
        ("C", "B", "depends_on"),
        ("D", "A", "depends_on"),
        ("R", "F", "depends_on"),
        ("Y", "X", "depends_on"),
        ("Z", "R", "implies"),  # Z is a premise of R, not a dependent
        ("R", "I", "implies"),  # what R implies stands on R
    ):
        make.edge(claims[source], claims[target], edge_type, created_by=author)
    make.close()
    return claims | {"marker": tag}


AT_RISK = """query ($f: ClaimFilter, $id: ID!) {
  claims(filter: $f, first: 50) { totalCount edges { node { id } } }
  claim(id: $id) { atRisk { isAtRisk retractedAncestors { depth retracted { id }
                                                         path { id } } } }
}"""
SUBSCRIBE = """subscription { claimAtRisk { eventId claimId retractedId path } }"""
RETRACT = """mutation ($id: ID!) {
  setClaimStatus(id: $id, status: RETRACTED, reason: "the data were fabricated") { status } }"""
REVISE = """mutation ($id: ID!) {
  reviseClaim(id: $id, input: {content: "R, measured again"}) { id status } }"""
WEBHOOK = """mutation ($url: String!) {
  createWebhook(url: $url, eventTypes: ["claim_at_risk"], secret: "a-secret-of-some-length") {
    id } }"""


def at_risk(
    client: httpx.Client, graph: dict[str, UUID], of: str
) -> tuple[set[UUID], dict[str, Any]]:
    """The graph's claims the atRisk filter lists, and `of`'s Claim.atRisk."""
    marker = {"risk_test": str(graph["marker"])}
    found = data_of(
        gql(client, AT_RISK, {"f": {"atRisk": True, "attrs": marker}, "id": str(graph[of])})
    )
    ids = {UUID(e["node"]["id"]) for e in found["claims"]["edges"]}
    assert found["claims"]["totalCount"] == len(ids)
    return ids, found["claim"]["atRisk"]


async def test_retraction_puts_exactly_the_dependents_at_risk_until_un_retracted(
    server: LiveServer,
    client: httpx.Client,
    database_url: str,
    keys: tuple[ApiKey, ApiKey],
    graph: dict[str, UUID],
    receiver: Receiver,
) -> None:
    author, reader = keys
    names = {claim_id: name for name, claim_id in graph.items() if name != "marker"}
    assert at_risk(client, graph, "C") == (set(), {"isAtRisk": False, "retractedAncestors": []})
    data_of(gql(client, WEBHOOK, {"url": receiver.url}, headers=reader.headers))

    async with LiveClient.connect(server.ws_url, reader.headers) as live:
        op = await live.subscribe(SUBSCRIBE)

        async def probe() -> str:
            claim_id = str(uuid.uuid4())
            payload = {"claim_id": claim_id, "retracted_id": claim_id, "path": []}
            await append_events(database_url, [("claim_at_risk", payload)])
            return claim_id

        probes = await until_subscribed(live, op, probe, lambda d: d["claimAtRisk"]["claimId"])
        retracted = gql(client, RETRACT, {"id": str(graph["R"])}, headers=author.headers)
        assert data_of(retracted)["setClaimStatus"]["status"] == "RETRACTED"

        events: dict[str, list[str]] = {}
        while len(events) < 5:
            event = (await live.next_data(op))["claimAtRisk"]
            if event["claimId"] not in probes:
                assert event["retractedId"] == str(graph["R"])
                events[names[UUID(event["claimId"])]] = [names[UUID(s)] for s in event["path"]]
    assert events == {
        "A": ["A", "R"],
        "I": ["I", "R"],
        "B": ["B", "A", "R"],
        "D": ["D", "A", "R"],
        "C": ["C", "B", "A", "R"],
    }

    dependents = {graph[n] for n in ("A", "B", "C", "D", "I")}
    ids, risk = at_risk(client, graph, "C")
    assert ids == dependents
    assert risk["isAtRisk"] is True
    (ancestor,) = risk["retractedAncestors"]
    assert ancestor["retracted"]["id"] == str(graph["R"]) and ancestor["depth"] == 3
    assert [names[UUID(c["id"])] for c in ancestor["path"]] == ["C", "B", "A", "R"]

    posted = receiver.wait_for(5, lambda b: b["payload"].get("retracted_id") == str(graph["R"]))
    assert {names[UUID(b["payload"]["claim_id"])] for b in posted} == {"A", "B", "C", "D", "I"}

    # Un-retracting: a new version of R takes over its edges and stands in for it.
    revised = data_of(gql(client, REVISE, {"id": str(graph["R"])}, headers=author.headers))
    assert revised["reviseClaim"]["status"] == "ACTIVE"
    assert at_risk(client, graph, "C") == (set(), {"isAtRisk": False, "retractedAncestors": []})
