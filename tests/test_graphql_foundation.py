"""The first GraphQL surface: edge types, claims by id, namespaces."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests.migrations_expectations import SEEDED_EDGE_TYPES
from tests.support import LiveServer, create_api_key, data_of, error_codes, gql


@pytest.fixture
def client(server: LiveServer, database_url: str) -> Iterator[httpx.Client]:
    """A client whose key may write claims (createNamespace needs claims:write)."""
    key = create_api_key(database_url, ["claims:write"])
    with httpx.Client(base_url=server.url, timeout=30, headers=key.headers) as http:
        yield http


def test_edge_types_lists_the_fifteen_seeded_types(client: httpx.Client) -> None:
    data = data_of(
        gql(
            client,
            "{ edgeTypes { name inverseName isTransitive isSymmetric isAntiReflexive category } }",
        )
    )
    got = {
        t["name"]: (
            t["inverseName"],
            t["isTransitive"],
            t["isSymmetric"],
            t["isAntiReflexive"],
            t["category"].lower(),
        )
        for t in data["edgeTypes"]
    }
    assert got == SEEDED_EDGE_TYPES


def test_claim_by_id_returns_its_scalar_fields(client: httpx.Client, database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            """
            INSERT INTO claims (lineage_id, claim_type, content, formal_content, attrs)
            VALUES (gen_random_uuid(), 'theorem', 'every prime above 2 is odd', 'p>2 -> odd(p)',
                    '{"origin": "test"}')
            RETURNING id, lineage_id
            """
        ).fetchone()
    assert row is not None
    data = data_of(
        gql(
            client,
            """query($id: ID!) { claim(id: $id) {
                id lineageId version isLatest claimType content formalContent status attrs
                createdAt namespace { path } } }""",
            {"id": str(row[0])},
        )
    )
    claim = data["claim"]
    assert claim["id"] == str(row[0])
    assert claim["lineageId"] == str(row[1])
    assert (claim["version"], claim["isLatest"]) == (1, True)
    assert (claim["claimType"], claim["status"]) == ("THEOREM", "ACTIVE")
    assert claim["content"] == "every prime above 2 is odd"
    assert claim["formalContent"] == "p>2 -> odd(p)"
    assert claim["attrs"] == {"origin": "test"}
    assert claim["namespace"] is None


def test_an_unknown_claim_id_is_null_not_an_error(client: httpx.Client) -> None:
    body = gql(client, "query($id: ID!) { claim(id: $id) { id } }", {"id": str(uuid.uuid4())})
    assert data_of(body) == {"claim": None}


def test_a_malformed_claim_id_is_a_coded_validation_error(client: httpx.Client) -> None:
    body = gql(client, "query($id: ID!) { claim(id: $id) { id } }", {"id": "not-a-uuid"})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert body["errors"][0]["extensions"]["request_id"]


CREATE = """
mutation($input: CreateNamespaceInput!) {
  createNamespace(input: $input) { id name path description parent { path } }
}
"""


def test_create_namespace_with_parents_and_list_them(client: httpx.Client) -> None:
    root = f"bio{uuid.uuid4().hex[:6]}"
    data = data_of(
        gql(
            client,
            CREATE,
            {"input": {"path": f"{root}.immunology", "createParents": True, "description": "d"}},
        )
    )
    created = data["createNamespace"]
    assert (created["name"], created["path"]) == ("immunology", f"{root}.immunology")
    assert created["parent"] == {"path": root}
    assert created["description"] == "d"
    listed = data_of(gql(client, "{ namespaces { path parentId } }"))["namespaces"]
    paths = [n["path"] for n in listed]
    assert paths.index(root) < paths.index(f"{root}.immunology")


def test_create_namespace_without_its_parent_is_refused_and_writes_nothing(
    client: httpx.Client,
) -> None:
    root = f"orphan{uuid.uuid4().hex[:6]}"
    body = gql(client, CREATE, {"input": {"path": f"{root}.child"}})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    details = body["errors"][0]["extensions"]["details"]
    assert details == [
        {
            "path": "input.path",
            "code": "NAMESPACE_NOT_FOUND",
            "message": f"parent namespace '{root}' does not exist (set createParents to create it)",
        }
    ]
    listed = data_of(gql(client, "{ namespaces { path } }"))["namespaces"]
    assert root not in [n["path"] for n in listed]


def test_a_duplicate_namespace_is_a_conflict(client: httpx.Client) -> None:
    name = f"dup{uuid.uuid4().hex[:6]}"
    data_of(gql(client, CREATE, {"input": {"path": name}}))
    assert error_codes(gql(client, CREATE, {"input": {"path": name}})) == ["CONFLICT"]


def test_bad_namespace_input_lists_every_problem(client: httpx.Client) -> None:
    body = gql(
        client, CREATE, {"input": {"path": "Bad..x", "attrs": [1], "description": "x" * 3000}}
    )
    assert error_codes(body) == ["VALIDATION_FAILED"]
    paths = [d["path"] for d in body["errors"][0]["extensions"]["details"]]
    assert paths == ["input.path", "input.path", "input.description", "input.attrs"]
