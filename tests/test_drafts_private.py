"""Drafts are private: another agent's key cannot see a draft (or its edges) through any
root field, count or subscription; its creator and admins can."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.factories import Factory
from tests.live_client import LiveClient, last_event_id
from tests.support import ApiKey, LiveServer, create_api_key, data_of, error_codes, gql

CREATE_CLAIM = """mutation($input: CreateClaimInput!) { createClaim(input: $input) { id } }"""
CREATE_EDGE = """mutation($input: CreateEdgeInput!) { createEdge(input: $input) { id } }"""


@dataclass(frozen=True)
class World:
    author: ApiKey
    stranger: ApiKey
    admin: ApiKey
    word: str
    marker: dict[str, str]
    source: UUID
    public: str
    draft: str


@pytest.fixture(scope="module")
def world(server: LiveServer, database_url: str) -> Iterator[World]:
    client = httpx.Client(base_url=server.url, timeout=30)
    author = create_api_key(database_url, ["claims:write"])
    stranger = create_api_key(database_url, ["claims:read"])
    admin = create_api_key(database_url, ["admin"])
    word = f"zq{uuid.uuid4().hex[:10]}"
    marker = {"draft_test": word}
    make = Factory(database_url)
    source = make.source(f"the paper of {word}")
    make.close()

    def claim(content: str, status: str) -> str:
        body = {
            "content": content,
            "status": status,
            "attrs": marker,
            "sourceId": str(source),
        }
        created = gql(client, CREATE_CLAIM, {"input": body}, headers=author.headers)
        claim_id: str = data_of(created)["createClaim"]["id"]
        return claim_id

    public = claim(f"the public premise {word}", "ACTIVE")
    draft = claim(f"the secret draft {word}", "DRAFT")
    for source_id, target_id, edge_type in (
        (draft, public, "supports"),
        (public, draft, "depends_on"),
    ):
        edge = {"sourceId": source_id, "targetId": target_id, "edgeType": edge_type}
        data_of(gql(client, CREATE_EDGE, {"input": edge}, headers=author.headers))
    yield World(author, stranger, admin, word, marker, source, public, draft)
    client.close()


@pytest.fixture(scope="module")
def keys(database_url: str) -> tuple[ApiKey, ApiKey]:
    """An author and a stranger, for the subscription test (arranged outside its loop)."""
    return (
        create_api_key(database_url, ["claims:write"]),
        create_api_key(database_url, ["claims:read"]),
    )


def ask(client: httpx.Client, key: ApiKey, query: str, **variables: Any) -> dict[str, Any]:
    return gql(client, query, variables, headers=key.headers)


def seen_by(world: World) -> list[tuple[ApiKey, bool]]:
    """Each key with whether it may see the draft."""
    return [(world.stranger, False), (world.author, True), (world.admin, True)]


def test_claim_by_id_in_both_read_shapes(client: httpx.Client, world: World) -> None:
    plain = "query ($id: ID!) { claim(id: $id) { id } }"
    prefetched = """query ($id: ID!) { claim(id: $id) { id createdBy { id }
        outgoing(first: 5) { totalCount edges { node { target { id } } } } } }"""
    for key, sees in seen_by(world):
        for query in (plain, prefetched):
            found = data_of(ask(client, key, query, id=world.draft))["claim"]
            assert (found is not None) is sees
        public = data_of(ask(client, key, prefetched, id=world.public))["claim"]
        targets = [e["node"]["target"]["id"] for e in public["outgoing"]["edges"]]
        assert (world.draft in targets) is sees
        assert public["outgoing"]["totalCount"] == (1 if sees else 0)


def test_claims_list_and_its_total(client: httpx.Client, world: World) -> None:
    query = """query ($f: ClaimFilter) { claims(filter: $f) {
        totalCount edges { node { id } } } }"""
    for key, sees in seen_by(world):
        found = data_of(ask(client, key, query, f={"attrs": world.marker}))["claims"]
        ids = {e["node"]["id"] for e in found["edges"]}
        assert ids == ({world.public, world.draft} if sees else {world.public})
        assert found["totalCount"] == len(ids)


def test_search(client: httpx.Client, world: World) -> None:
    query = """query ($q: String!, $mode: SearchMode!) { search(query: $q, mode: $mode) {
        hits { claim { id } } } }"""
    for key, sees in seen_by(world):
        for mode in ("FULLTEXT", "SEMANTIC", "HYBRID"):
            found = data_of(ask(client, key, query, q=f"secret draft {world.word}", mode=mode))
            ids = {hit["claim"]["id"] for hit in found["search"]["hits"]}
            assert (world.draft in ids) is sees, mode


def test_traverse_and_its_edges(client: httpx.Client, world: World) -> None:
    query = """query ($id: ID!) { traverse(start: $id, direction: BOTH) {
        nodes { claim { id } } edges { id } } }"""
    for key, sees in seen_by(world):
        found = data_of(ask(client, key, query, id=world.public))["traverse"]
        ids = {n["claim"]["id"] for n in found["nodes"]}
        assert (world.draft in ids) is sees
        assert len(found["edges"]) == (1 if sees else 0)
    hidden_start = ask(client, world.stranger, query, id=world.draft)
    assert error_codes(hidden_start) == ["NOT_FOUND"]


def test_path(client: httpx.Client, world: World) -> None:
    query = "query ($a: ID!, $b: ID!) { path(from: $a, to: $b) { length } }"
    assert error_codes(ask(client, world.stranger, query, a=world.public, b=world.draft)) == [
        "NOT_FOUND"
    ]
    found = data_of(ask(client, world.author, query, a=world.public, b=world.draft))
    assert found["path"] == {"length": 1}


def test_evidence(client: httpx.Client, world: World) -> None:
    query = """query ($id: ID!) { evidence(claimId: $id) {
        summary { supportingCount } supporting { claim { id } } } }"""
    for key, sees in seen_by(world):
        found = data_of(ask(client, key, query, id=world.public))["evidence"]
        assert found["summary"]["supportingCount"] == (1 if sees else 0)


def test_views(client: httpx.Client, world: World) -> None:
    paper = """query ($root: ID!) { view(kind: PAPER, root: $root) {
        ... on PaperView { claims { id } edges { id } } } }"""
    tree = """query ($root: ID!) { view(kind: PROOF_TREE, root: $root) {
        ... on ProofTreeView { nodes { claim { id } } } } }"""
    comparison = """query ($ids: [ID!]) { view(kind: COMPARISON, claims: $ids) {
        ... on ComparisonView { entries { claim { id } } } } }"""
    for key, sees in seen_by(world):
        found = data_of(ask(client, key, paper, root=str(world.source)))["view"]
        assert {c["id"] for c in found["claims"]} == (
            {world.public, world.draft} if sees else {world.public}
        )
        assert len(found["edges"]) == (2 if sees else 0)
        nodes = data_of(ask(client, key, tree, root=world.public))["view"]["nodes"]
        assert (world.draft in {n["claim"]["id"] for n in nodes}) is sees
        entries = data_of(ask(client, key, comparison, ids=[world.public, world.draft]))
        listed = {e["claim"]["id"] for e in entries["view"]["entries"]}
        assert (world.draft in listed) is sees


def test_writes_treat_another_agents_draft_as_missing(
    client: httpx.Client, database_url: str, world: World
) -> None:
    writer = create_api_key(database_url, ["claims:write", "reviews:write"])
    edge = {"sourceId": world.public, "targetId": world.draft, "edgeType": "related_to"}
    assert error_codes(ask(client, writer, CREATE_EDGE, input=edge)) == ["VALIDATION_FAILED"]
    review = """mutation($input: CreateReviewInput!) { createReview(input: $input) {
        review { id } } }"""
    refused = ask(client, writer, review, input={"claimId": world.draft, "verdict": "ENDORSE"})
    assert error_codes(refused) == ["NOT_FOUND"]
    revise = """mutation($id: ID!) { reviseClaim(id: $id, input: {content: "stolen"}) {
        id } }"""
    assert error_codes(ask(client, writer, revise, id=world.draft)) == ["NOT_FOUND"]


async def test_subscribers_and_event_replays_see_a_draft_only_as_its_creator(
    server: LiveServer, client: httpx.Client, database_url: str, keys: tuple[ApiKey, ApiKey]
) -> None:
    author, stranger = keys
    start = await last_event_id(database_url)
    query = """subscription ($after: String) {
        events(types: ["claim_created"], after: $after) { payload } }"""

    def create(status: str) -> str:
        body = {"content": f"an event test claim {uuid.uuid4().hex}", "status": status}
        created = gql(client, CREATE_CLAIM, {"input": body}, headers=author.headers)
        claim_id: str = data_of(created)["createClaim"]["id"]
        return claim_id

    async with (
        LiveClient.connect(server.ws_url, stranger.headers) as other,
        LiveClient.connect(server.ws_url, author.headers) as mine,
    ):
        other_op = await other.subscribe(query, {"after": str(start)})
        mine_op = await mine.subscribe(query, {"after": str(start)})
        draft = create("DRAFT")
        public = create("ACTIVE")

        async def claim_ids(live: LiveClient, op: str) -> list[str]:
            seen: list[str] = []
            while public not in seen:
                payload = (await live.next_data(op))["events"]["payload"]
                if payload.get("created_by") == str(author.agent_id):
                    seen.append(payload["claim_id"])
            return seen

        assert await claim_ids(other, other_op) == [public]
        assert await claim_ids(mine, mine_op) == [draft, public]
