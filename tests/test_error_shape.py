"""One error shape: whatever finds a problem, VALIDATION_FAILED names its place in
`details`, and the HTTP status follows the README's table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import (
    VALIDATION_WITHOUT_PLACE,
    ApiKey,
    check_json_body,
    create_api_key,
    error_codes,
    gql,
)
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


def test_the_suite_refuses_a_validation_error_without_a_place() -> None:
    """The check every test's JSON passes through (conftest) catches the old shape."""
    old_shape = {"errors": [{"message": "bad", "path": None, "extensions": {"code": CODE}}]}
    no_path = {"type": "error", "payload": [{"extensions": {"code": CODE, "details": [{}]}}]}
    for body in (old_shape, no_path):
        with pytest.raises(AssertionError):
            check_json_body(body)
        VALIDATION_WITHOUT_PLACE.pop()  # refused on purpose: not a failure of the session
    check_json_body({"errors": [{"extensions": {"code": CODE, "details": [{"path": "a"}]}}]})
    assert not VALIDATION_WITHOUT_PLACE


CODE = "VALIDATION_FAILED"


def readme_status_table() -> dict[str, set[str]]:
    """The README's "Errors and HTTP status" table: the codes each status may carry."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Errors and HTTP status", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[str]] = {}
    for row in re.findall(r"^\| (\d{3}(?: / \d{3})?) \| (.+?) \|", section, re.M):
        table.setdefault(row[0], set()).update(re.findall(r"`([A-Z_]+)`", row[1]))
    return table


def test_refusals_before_execution_have_the_status_the_readme_gives(
    client: httpx.Client,
) -> None:
    table = readme_status_table()
    mutation = 'mutation { createNamespace(input: {path: "by-get"}) { id } }'
    refusals = {
        "400": client.post(
            "/graphql", content=b'{"query": ', headers={"content-type": "application/json"}
        ),
        "401": client.post("/graphql", json={"query": mutation}),
        "405": client.get("/graphql", params={"query": "mutation { nope }"}),
        "415": client.post(
            "/graphql", content=b"{ __typename }", headers={"content-type": "text/plain"}
        ),
    }
    subscription = "subscription { claimCreated { claimId } }"
    refusals["400 subscription"] = client.post("/graphql", json={"query": subscription})
    for case, response in refusals.items():
        status = case.split()[0]  # "400 subscription": a second 400
        assert str(response.status_code) == status, (case, response.text)
        assert response.json()["data"] is None
        assert set(error_codes(response.json())) <= table[status], (case, response.text)
    for took in ("{ claims(filter: {claimTypes: [HUNCH]}) { totalCount } }", "{ claims {"):
        response = client.post("/graphql", json={"query": took})
        assert response.status_code == 200, response.text
        assert set(error_codes(response.json())) <= table["200"]


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("accept", ["application/json", "multipart/mixed", "text/event-stream"])
def test_a_subscription_over_http_is_told_to_use_the_websocket(
    client: httpx.Client, method: str, accept: str
) -> None:
    query = "subscription { claimCreated { claimId } }"
    response = client.request(
        method,
        "/graphql",
        params={"query": query} if method == "GET" else None,
        json={"query": query} if method == "POST" else None,
        headers={"Accept": accept},
    )
    assert response.status_code == 400, response.text
    detail = only_detail(response.json())
    assert detail["path"] == "query"
    assert "WebSocket" in detail["message"] and "graphql-transport-ws" in detail["message"]


def test_a_time_literal_that_is_no_time_names_its_field_line_and_column(
    client: httpx.Client,
) -> None:
    body = gql(client, '{ claims(filter: {createdAfter: "last week"}) { totalCount } }')
    detail = only_detail(body)
    assert detail["path"] == "claims.filter.createdAfter"
    assert (detail["line"], detail["column"]) == (1, 33)
    assert "DateTime" in detail["message"]
    variable = gql(
        client,
        "query ($t: DateTime) { claims(filter: {createdAfter: $t}) { totalCount } }",
        {"t": "last week"},
    )
    assert only_detail(variable)["path"] == "variables.t"


def test_an_unknown_or_missing_input_field_is_named_in_the_path(
    client: httpx.Client, bot: ApiKey
) -> None:
    filtered = "query ($f: ClaimFilter) { claims(filter: $f) { totalCount } }"
    unknown = gql(client, filtered, {"f": {"namespace": "x", "colour": "red"}})
    assert only_detail(unknown)["path"] == "variables.f.colour"
    body = bundle(2)
    del body["claims"][1]["content"]
    missing = gql(client, SUBMIT_BUNDLE, {"input": body}, headers=bot.headers)
    assert only_detail(missing)["path"] == "variables.input.claims[1].content"
    literal = gql(
        client,
        "mutation { createClaim(input: {claimType: ASSERTION}) { id } }",
        headers=bot.headers,
    )
    assert only_detail(literal)["path"] == "createClaim.input.content"
