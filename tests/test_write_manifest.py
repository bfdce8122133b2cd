"""An extension writes only the claim and edge types its manifest declares: through
GraphQL over HTTP, submitBundle, createClaim and createEdge are refused (FORBIDDEN, every
offending item with its path, nothing written) outside the manifest and accepted inside."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support import ApiKey, create_api_key, data_of, error_codes, gql
from tests.write_support import bundle, details, row_counts, submit

REGISTER = """
mutation($input: RegisterExtensionInput!) {
  registerExtension(input: $input) { key agent { id } }
}
"""
CREATE_CLAIM = """mutation($input: CreateClaimInput!) {
  createClaim(input: $input) { id claimType } }"""
CREATE_EDGE = """mutation($input: CreateEdgeInput!) {
  createEdge(input: $input) { id edgeType } }"""


@pytest.fixture(scope="module")
def admin(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["admin"])


@pytest.fixture(scope="module")
def extension(server: Any, admin: ApiKey) -> dict[str, str]:
    """The headers of an extension that declares assertion/observation and supports."""
    manifest = {
        "id": f"org.example.bot-{uuid.uuid4().hex[:8]}",
        "name": "Paper bot",
        "version": "1.0.0",
        "capabilities": ["ingest"],
        "claimTypes": ["assertion", "observation"],
        "edgeTypes": ["supports"],
    }
    with httpx.Client(base_url=server.url, timeout=30) as http:
        registered = data_of(
            gql(http, REGISTER, {"input": {"manifest": manifest}}, headers=admin.headers)
        )["registerExtension"]
    return {"Authorization": f"Bearer {registered['key']}"}


def _claim(client: httpx.Client, headers: dict[str, str], claim_type: str) -> dict[str, Any]:
    body = {"content": f"claim {uuid.uuid4().hex}", "claimType": claim_type}
    return gql(client, CREATE_CLAIM, {"input": body}, headers=headers)


def _edge(
    client: httpx.Client, headers: dict[str, str], source: str, target: str, edge_type: str
) -> dict[str, Any]:
    body = {"sourceId": source, "targetId": target, "edgeType": edge_type}
    return gql(client, CREATE_EDGE, {"input": body}, headers=headers)


def test_a_bundle_outside_the_manifest_is_forbidden_with_every_offending_item_and_writes_nothing(
    client: httpx.Client, database_url: str, extension: dict[str, str]
) -> None:
    body = bundle(4)
    body["claims"][1]["claimType"] = "THEOREM"
    body["claims"][3]["claimType"] = "DEFINITION"
    body["edges"][1]["edgeType"] = "contradicts"
    before = row_counts(database_url)

    response = submit(client, body, extension)

    assert error_codes(response) == ["FORBIDDEN"]
    assert sorted(details(response)) == [
        ("claims[1].claimType", "FORBIDDEN"),
        ("claims[3].claimType", "FORBIDDEN"),
        ("edges[1].edgeType", "FORBIDDEN"),
    ]
    assert row_counts(database_url) == before


def test_a_bundle_inside_the_manifest_is_accepted(
    client: httpx.Client, extension: dict[str, str]
) -> None:
    body = bundle(3)
    body["claims"][2]["claimType"] = "OBSERVATION"

    created = data_of(submit(client, body, extension))["submitBundle"]

    assert [c["tempId"] for c in created["claims"]] == ["c0", "c1", "c2"]
    assert all(edge_id is not None for edge_id in created["edgeIds"])


def test_create_claim_of_an_undeclared_type_is_forbidden_and_writes_nothing(
    client: httpx.Client, database_url: str, extension: dict[str, str]
) -> None:
    before = row_counts(database_url)

    response = _claim(client, extension, "THEOREM")

    assert error_codes(response) == ["FORBIDDEN"]
    assert details(response) == [("input.claimType", "FORBIDDEN")]
    assert row_counts(database_url) == before
    assert data_of(_claim(client, extension, "OBSERVATION"))["createClaim"]["claimType"] == (
        "OBSERVATION"
    )


def test_create_edge_of_an_undeclared_type_is_forbidden_and_a_declared_one_is_created(
    client: httpx.Client, database_url: str, extension: dict[str, str]
) -> None:
    source = data_of(_claim(client, extension, "ASSERTION"))["createClaim"]["id"]
    target = data_of(_claim(client, extension, "ASSERTION"))["createClaim"]["id"]
    before = row_counts(database_url)

    response = _edge(client, extension, source, target, "contradicts")

    assert error_codes(response) == ["FORBIDDEN"]
    assert details(response) == [("input.edgeType", "FORBIDDEN")]
    assert row_counts(database_url) == before
    edge = data_of(_edge(client, extension, source, target, "supports"))["createEdge"]
    assert edge["edgeType"] == "supports"
