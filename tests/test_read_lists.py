"""Lookups and lists: agents, sources, the namespace tree, bundles, pending references."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.factories import Factory
from tests.support import data_of, error_codes, gql


@pytest.fixture(scope="module")
def make(database_url: str) -> Iterator[Factory]:
    factory = Factory(database_url)
    yield factory
    factory.close()


def test_agents_list_pages_and_filters_by_type(make: Factory, client: httpx.Client) -> None:
    bot = make.agent("pipeline-x", "pipeline")
    query = """query ($after: String) {
      agents(agentType: PIPELINE, first: 1, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id name agentType } }
      } }"""
    page = data_of(gql(client, query))["agents"]
    assert page["edges"][0]["node"] == {
        "id": str(bot),
        "name": "pipeline-x",
        "agentType": "PIPELINE",
    }
    assert page["totalCount"] == 1 and page["pageInfo"]["hasNextPage"] is False
    lookup = "query ($id: ID!) { agent(id: $id) { name } }"
    assert data_of(gql(client, lookup, {"id": str(bot)})) == {"agent": {"name": "pipeline-x"}}
    assert data_of(gql(client, lookup, {"id": str(uuid.uuid4())})) == {"agent": None}


def test_sources_list_and_lookup(make: Factory, client: httpx.Client) -> None:
    doi = f"10.1000/{uuid.uuid4().hex}"
    alice = make.agent("alice")
    source = make.source("Dataset X", "dataset", external_ref=doi, submitted_by=alice)
    query = """query ($ref: String) { sources(externalRef: $ref) {
      totalCount edges { node { id title sourceType submittedBy { name } } } } }"""
    page = data_of(gql(client, query, {"ref": doi}))["sources"]
    assert page["totalCount"] == 1
    assert page["edges"][0]["node"] == {
        "id": str(source),
        "title": "Dataset X",
        "sourceType": "DATASET",
        "submittedBy": {"name": "alice"},
    }
    lookup = "query ($id: ID!) { source(id: $id) { title } }"
    assert data_of(gql(client, lookup, {"id": str(uuid.uuid4())})) == {"source": None}


def test_namespace_tree_nests_children_under_parents(make: Factory, client: httpx.Client) -> None:
    top = f"t{uuid.uuid4().hex[:8]}"
    root = make.namespace(top)
    mid = make.namespace("mid", root)
    make.namespace("leaf", mid)
    query = "{ namespaceTree { name children { name parent { name } children { path } } } }"
    tree = data_of(gql(client, query))["namespaceTree"]
    ours = next(ns for ns in tree if ns["name"] == top)
    assert ours["children"] == [
        {"name": "mid", "parent": {"name": top}, "children": [{"path": f"{top}.mid.leaf"}]}
    ]


def test_bundles_list_and_relations(make: Factory, client: httpx.Client) -> None:
    ext = make.agent(f"ext-{uuid.uuid4().hex[:6]}", "extension")
    source = make.source("bundle source")
    bundle = make.bundle(ext, source_id=source)
    claim = make.claim("from the bundle")
    make.artifact([claim], bundle_id=bundle, description="table 1")
    query = """query ($by: ID) { bundles(submittedBy: $by, status: ACCEPTED) {
      totalCount edges { node { id status submittedBy { name } source { title }
                                artifacts { description claims { content } } } } } }"""
    page = data_of(gql(client, query, {"by": str(ext)}))["bundles"]
    assert page["totalCount"] == 1
    node = page["edges"][0]["node"]
    assert node["source"] == {"title": "bundle source"}
    assert node["artifacts"] == [
        {"description": "table 1", "claims": [{"content": "from the bundle"}]}
    ]
    lookup = "query ($id: ID!) { bundle(id: $id) { id } }"
    assert data_of(gql(client, lookup, {"id": str(bundle)})) == {"bundle": {"id": str(bundle)}}
    assert data_of(gql(client, lookup, {"id": str(uuid.uuid4())})) == {"bundle": None}


def test_pending_references_filter_by_status(make: Factory, client: httpx.Client) -> None:
    ext = make.agent("ext", "extension")
    bundle = make.bundle(ext)
    claim = make.claim("cites a paper we lack")
    target = make.claim("the cited paper's claim")
    make.pending_reference(claim, "doi:10.1/waiting", bundle_id=bundle)
    done = make.pending_reference(claim, "doi:10.1/arrived", bundle_id=bundle, status="resolved")
    make.conn.execute(
        "UPDATE pending_references SET resolved_to = %s WHERE id = %s", (target, done)
    )
    query = """query ($status: PendingReferenceStatus, $bundle: ID) {
      pendingReferences(status: $status, bundleId: $bundle) {
        totalCount edges { node { externalRef sourceClaim { content } resolvedTo { content } } }
      } }"""
    pending = data_of(gql(client, query, {"status": "PENDING", "bundle": str(bundle)}))
    assert pending["pendingReferences"]["edges"] == [
        {
            "node": {
                "externalRef": "doi:10.1/waiting",
                "sourceClaim": {"content": "cites a paper we lack"},
                "resolvedTo": None,
            }
        }
    ]
    resolved = data_of(gql(client, query, {"status": "RESOLVED", "bundle": str(bundle)}))
    edges = resolved["pendingReferences"]["edges"]
    assert edges[0]["node"]["resolvedTo"] == {"content": "the cited paper's claim"}


def test_edge_types_list_the_fifteen_seeded_types(client: httpx.Client) -> None:
    types = data_of(gql(client, "{ edgeTypes { name inverseName isSymmetric } }"))["edgeTypes"]
    by_name = {t["name"]: t for t in types}
    assert len(by_name) >= 15
    assert by_name["supports"]["inverseName"] == "supported_by"
    assert by_name["contradicts"]["isSymmetric"] is True


def test_list_cursors_of_another_list_are_refused(make: Factory, client: httpx.Client) -> None:
    make.agent("someone")
    agents = data_of(gql(client, "{ agents(first: 1) { pageInfo { endCursor } } }"))
    cursor = agents["agents"]["pageInfo"]["endCursor"]
    body = gql(client, "query ($c: String) { sources(after: $c) { totalCount } }", {"c": cursor})
    assert error_codes(body) == ["VALIDATION_FAILED"]
