"""One error shape: whatever finds a problem, VALIDATION_FAILED names its place in
`details`, and the HTTP status follows the README's table."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import ApiKey, create_api_key, error_codes, gql
from tests.write_support import SUBMIT_BUNDLE, bundle


@pytest.fixture(scope="module")
def bot(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["bundles:write", "claims:write"])


def only_detail(body: dict[str, Any]) -> dict[str, Any]:
    assert error_codes(body) == ["VALIDATION_FAILED"], body
    [detail] = body["errors"][0]["extensions"]["details"]
    return dict(detail)


def test_a_wrong_enum_deep_in_a_variable_names_its_path(client: httpx.Client, bot: ApiKey) -> None:
    body = bundle(2)
    body["claims"][0]["claimType"] = "HUNCH"
    detail = only_detail(gql(client, SUBMIT_BUNDLE, {"input": body}, headers=bot.headers))
    assert detail["path"] == "variables.input.claims[0].claimType"
    assert "HUNCH" in detail["message"]


def test_a_variable_of_the_wrong_type_names_the_variable(client: httpx.Client) -> None:
    body = gql(client, "query ($n: Int) { claims(first: $n) { totalCount } }", {"n": "ten"})
    assert only_detail(body)["path"] == "variables.n"


def test_a_missing_required_variable_names_the_variable(client: httpx.Client) -> None:
    body = gql(client, "query ($id: ID!) { claim(id: $id) { id } }", {})
    assert only_detail(body)["path"] == "variables.id"


def test_a_syntax_error_gives_line_and_column(client: httpx.Client) -> None:
    detail = only_detail(gql(client, "{\n  claims(first: 2) {\n    totalCount\n"))
    assert detail["path"] == "query"
    assert (detail["line"], detail["column"]) == (4, 1)


def test_a_wrong_literal_names_the_field_and_argument(client: httpx.Client) -> None:
    body = gql(
        client, "{ recent: claims(filter: {claimTypes: [ASSERTION, HUNCH]}) { totalCount } }"
    )
    detail = only_detail(body)
    assert detail["path"] == "recent.filter.claimTypes[1]"
    assert (detail["line"], detail["column"]) == (1, 51)


def test_an_unknown_field_names_its_place(client: httpx.Client) -> None:
    body = gql(client, "{ claims { edges { node { colour } } } }")
    assert only_detail(body)["path"] == "claims.edges.node.colour"


def test_an_unknown_operation_name_names_operation_name(client: httpx.Client) -> None:
    response = client.post(
        "/graphql", json={"query": "query A { edgeTypes { name } }", "operationName": "B"}
    )
    assert only_detail(response.json())["path"] == "operationName"


def test_a_request_without_a_query_names_the_request(client: httpx.Client) -> None:
    response = client.post("/graphql", json={"variables": {}})
    assert response.status_code == 400
    assert only_detail(response.json())["path"] == "query"


def test_a_missing_key_and_a_wrong_key_on_a_mutation_are_both_401(
    client: httpx.Client,
) -> None:
    mutation = 'mutation { createNamespace(input: {path: "keyless"}) { id } }'
    missing = client.post("/graphql", json={"query": mutation})
    wrong = client.post(
        "/graphql", json={"query": mutation}, headers={"Authorization": "Bearer phk_wrong"}
    )
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert error_codes(response.json()) == ["UNAUTHENTICATED"]


def test_a_business_rule_keeps_its_domain_path(client: httpx.Client, bot: ApiKey) -> None:
    body = bundle(2)
    body["claims"][1]["content"] = " "
    detail = only_detail(gql(client, SUBMIT_BUNDLE, {"input": body}, headers=bot.headers))
    assert detail["path"] == "claims[1].content"
