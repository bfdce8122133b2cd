"""A revision keeps the claim's place in the graph, and reviews belong to the version
they judged: through GraphQL over HTTP, the real reviseClaim mutation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.factories import Factory
from tests.support import ApiKey, create_api_key, data_of, gql

REVISE = """mutation($id: ID!, $input: ReviseClaimInput!) {
  reviseClaim(id: $id, input: $input) { id version supersedesId } }"""

NEIGHBOURHOOD = """
query ($id: ID!, $other: ID!, $source: ID!) {
  claim(id: $id) {
    version isLatest
    incoming(first: 50) { totalCount edges { node { edgeType source { content } } } }
    outgoing(first: 50) { totalCount edges { node { edgeType target { content } } } }
    provenance { locationInSource source { id } }
    versions { version status outgoing(first: 50) { totalCount } }
    confidence { reviewCount endorsementCount }
    lineageConfidence { confidence { reviewCount endorsementCount }
                        reviews { version review { verdict claim { version } } } }
  }
  evidence(claimId: $id) { summary { supportingCount contradictingCount } }
  traverse(start: $id, direction: BOTH, maxDepth: 1) { nodes { claim { content } } }
  path(from: $other, to: $id, maxDepth: 3) { length claims { content } }
  view(kind: PAPER, root: $source) { ... on PaperView { claims { content version } } }
}
"""


@pytest.fixture(scope="module")
def make(database_url: str) -> Iterator[Factory]:
    factory = Factory(database_url)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def writer(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["claims:write", "reviews:write"])


def revise(client: httpx.Client, key: ApiKey, claim_id: UUID, content: str) -> dict[str, Any]:
    answer = gql(
        client, REVISE, {"id": str(claim_id), "input": {"content": content}}, headers=key.headers
    )
    revised: dict[str, Any] = data_of(answer)["reviseClaim"]
    return revised


def test_a_revised_claim_keeps_its_edges_provenance_and_history(
    client: httpx.Client, make: Factory, writer: ApiKey
) -> None:
    me = writer.agent_id
    reviewer = make.agent("reviewer")
    source = make.source("the paper of the lineage test")
    claim = make.claim("aspirin lowers risk", created_by=me)
    supporter = make.claim("a trial supports it", created_by=me)
    critic = make.claim("a cohort contradicts it", created_by=me)
    premise = make.claim("platelets matter", created_by=me)
    make.edge(supporter, claim, "supports", created_by=me)
    make.edge(critic, claim, "contradicts", created_by=me)
    make.edge(claim, premise, "depends_on", created_by=me)
    make.provenance(claim, source, extracted_by=me, location_in_source="para 3")
    make.review(claim, reviewer, "endorse", 0.9)

    revised = revise(client, writer, claim, "aspirin lowers the risk of a first heart attack")
    assert (revised["version"], revised["supersedesId"]) == (2, str(claim))
    new_id = UUID(revised["id"])

    found = data_of(
        gql(
            client,
            NEIGHBOURHOOD,
            {"id": str(new_id), "other": str(supporter), "source": str(source)},
        )
    )
    node = found["claim"]
    incoming = {
        (e["node"]["edgeType"], e["node"]["source"]["content"]) for e in node["incoming"]["edges"]
    }
    outgoing = {
        (e["node"]["edgeType"], e["node"]["target"]["content"]) for e in node["outgoing"]["edges"]
    }
    # `contradicts` is symmetric, stored with its ends in id order: the carried edge is
    # the new version's incoming or its outgoing edge, whichever id is smaller.
    symmetric = ("contradicts", "a cohort contradicts it")
    assert (symmetric in incoming) != (symmetric in outgoing)
    assert incoming - {symmetric} == {("supports", "a trial supports it")}
    assert outgoing - {symmetric} == {
        ("depends_on", "platelets matter"),
        ("supersedes", "aspirin lowers risk"),
    }
    assert [p["locationInSource"] for p in node["provenance"]] == ["para 3"]
    assert node["provenance"][0]["source"]["id"] == str(source)
    # History: version 1 is deprecated and keeps its edges as they were.
    assert [(v["version"], v["status"]) for v in node["versions"]] == [
        (1, "DEPRECATED"),
        (2, "ACTIVE"),
    ]
    assert node["versions"][0]["outgoing"]["totalCount"] == 1
    # Reviews stay with the version they judged; the lineage adds them up, naming it.
    assert node["confidence"] == {"reviewCount": 0, "endorsementCount": 0}
    lineage = node["lineageConfidence"]
    assert lineage["confidence"] == {"reviewCount": 1, "endorsementCount": 1}
    assert lineage["reviews"] == [
        {"version": 1, "review": {"verdict": "ENDORSE", "claim": {"version": 1}}}
    ]
    assert found["evidence"]["summary"] == {"supportingCount": 1, "contradictingCount": 1}
    reached = {n["claim"]["content"] for n in found["traverse"]["nodes"]}
    assert {"a trial supports it", "a cohort contradicts it", "platelets matter"} <= reached
    assert found["path"]["length"] == 1
    assert (
        found["path"]["claims"][-1]["content"] == "aspirin lowers the risk of a first heart attack"
    )
    assert found["view"]["claims"] == [
        {"content": "aspirin lowers the risk of a first heart attack", "version": 2}
    ]


def test_a_second_revision_carries_the_edges_again_without_duplicates(
    client: httpx.Client, make: Factory, writer: ApiKey
) -> None:
    me = writer.agent_id
    claim = make.claim("first wording", created_by=me)
    make.edge(make.claim("support", created_by=me), claim, "supports", created_by=me)
    second = UUID(revise(client, writer, claim, "second wording")["id"])
    third = UUID(revise(client, writer, second, "third wording")["id"])
    found = data_of(
        gql(
            client,
            """query ($id: ID!) { claim(id: $id) {
                 incoming(first: 10) { edges { node { edgeType source { content } } } }
                 outgoing(first: 10) { edges { node { edgeType target { version } } } } } }""",
            {"id": str(third)},
        )
    )["claim"]
    incoming = [
        (e["node"]["edgeType"], e["node"]["source"]["content"]) for e in found["incoming"]["edges"]
    ]
    assert incoming == [("supports", "support")]
    # Only the newest `supersedes` link starts here; the older one stays on version 2.
    outgoing = [
        (e["node"]["edgeType"], e["node"]["target"]["version"]) for e in found["outgoing"]["edges"]
    ]
    assert outgoing == [("supersedes", 2)]
