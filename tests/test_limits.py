"""GraphQL protection: depth, alias, cost and size caps refuse a document before any SQL;
introspection is off in production; APQ and the allow-list; HTTP failures are coded."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from phiacta.auth.authenticate import Authenticator
from phiacta.graphql.context import Context
from phiacta.graphql.engine.limits import CACHEABLE_DOCUMENT_CHARS
from phiacta.store import Connection
from phiacta.store import pending_references as pending_store
from tests.support import LiveServer, data_of, error_codes, gql, make_settings

MAX_REQUEST_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(
        database_url,
        tmp_path_factory.mktemp("data"),
        max_request_bytes=MAX_REQUEST_BYTES,
        graphql_max_document_bytes=32 * 1024,
    )
    with LiveServer.run(settings) as live:
        yield live


@pytest.fixture(scope="module")
def production(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(
        database_url,
        tmp_path_factory.mktemp("prod"),
        environment="production",
        cors_origins=["https://app.example.org"],
    )
    with LiveServer.run(settings) as live:
        yield live


@pytest.fixture
def connections_opened(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the database connections resolvers open (the servers run in this process)."""
    opened: list[int] = []
    original = Context.connection

    @asynccontextmanager
    async def counting(self: Context) -> AsyncIterator[Connection]:
        opened.append(1)
        async with original(self) as conn:
            yield conn

    monkeypatch.setattr(Context, "connection", counting)
    return opened


def refused_code(body: dict[str, Any]) -> str:
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["request_id"]
    return str(error["extensions"]["code"])


# -- refused before any SQL ----------------------------------------------------------


def test_a_query_thirty_levels_deep_is_refused_before_any_sql(
    client: httpx.Client, connections_opened: list[int]
) -> None:
    inner = "id"
    for _ in range(29):
        inner = f"parent {{ {inner} }}"
    body = gql(client, f"{{ namespaces {{ {inner} }} }}")
    assert refused_code(body) == "LIMIT_EXCEEDED"
    assert "exceeds maximum operation depth of 12" in body["errors"][0]["message"]
    assert connections_opened == []


def test_a_query_with_five_hundred_aliases_is_refused_before_any_sql(
    client: httpx.Client, connections_opened: list[int]
) -> None:
    aliases = " ".join(f"a{i}: edgeTypes {{ name }}" for i in range(500))
    body = gql(client, f"{{ {aliases} }}")
    assert refused_code(body) == "LIMIT_EXCEEDED"
    assert "500 aliases found" in body["errors"][0]["message"]
    assert connections_opened == []


NESTED_PAGES = """
query Nested($n: Int) {
  claims(first: $n) { edges { node { id outgoing(first: $n) { edges { node { id } } } } } }
}
"""


def test_a_query_over_the_cost_limit_is_refused_before_any_sql(
    client: httpx.Client, connections_opened: list[int]
) -> None:
    for _ in range(2):  # the second time, the cost is known already
        body = gql(client, NESTED_PAGES, {"n": 200})
        assert refused_code(body) == "LIMIT_EXCEEDED"
        assert "costs 40200, over the limit of 25000" in body["errors"][0]["message"]
    assert connections_opened == []
    # The same document with small pages is cheap and runs.
    data_of(gql(client, NESTED_PAGES, {"n": 2}))
    assert connections_opened


DOCUMENTED_MAXIMA = {
    "a 1000-node traversal": """query ($id: ID!) {
        traverse(start: $id, limit: 1000, maxDepth: 5) { truncated nodes { depth
          claim { id content createdBy { name } } edge { edgeType strength } } } }""",
    "200 claims with 20 edges each way": """{ claims(first: 200) { totalCount edges {
        cursor node { id content createdBy { name }
          outgoing(first: 20) { pageInfo { hasNextPage } edges { node { edgeType target { id } } } }
          incoming(first: 20) { edges { node { label source { id } } } } } } } }""",
    "a 100-hit search": """{ search(query: "aspirin", mode: FULLTEXT, first: 100) {
        hits { score snippet claim { id content createdBy { name } } } } }""",
}


@pytest.mark.parametrize("query", DOCUMENTED_MAXIMA.values(), ids=DOCUMENTED_MAXIMA.keys())
def test_the_documented_maximum_pages_are_within_the_default_cost(
    client: httpx.Client, query: str
) -> None:
    body = gql(client, query, {"id": str(uuid.uuid4())})
    assert "LIMIT_EXCEEDED" not in error_codes(body), body


def test_a_document_over_the_size_cap_is_refused(client: httpx.Client) -> None:
    padding = "#" + "x" * 40_000 + "\n"
    response = client.post("/graphql", json={"query": padding + "{ __typename }"})
    assert response.status_code == 413
    assert refused_code(response.json()) == "LIMIT_EXCEEDED"


# -- HTTP failures are coded ---------------------------------------------------------


def test_a_body_over_the_cap_is_413_with_a_coded_error(client: httpx.Client) -> None:
    big = json.dumps({"query": "{ __typename }", "variables": {"x": "y" * MAX_REQUEST_BYTES}})
    response = client.post("/graphql", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert refused_code(response.json()) == "LIMIT_EXCEEDED"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap is counted while reading
        yield big.encode()

    response = client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert refused_code(response.json()) == "LIMIT_EXCEEDED"


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"query": "{ __typename }"', "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b'[{"query": "{ __typename }"}]', "application/json", 400),
        (b'"just a string"', "application/json", 400),
        (b'{"query": 42}', "application/json", 400),
        (b"query={ __typename }", "application/x-www-form-urlencoded", 415),
        (b"{}", "application/json", 400),
    ],
)
def test_a_malformed_request_gets_a_coded_json_error(
    client: httpx.Client, content: bytes, content_type: str, status: int
) -> None:
    response = client.post("/graphql", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert refused_code(response.json()) == "VALIDATION_FAILED"
    assert response.headers["x-ratelimit-limit"]


def test_an_integer_variable_beyond_64_bits_is_a_coded_error_about_that_variable(
    client: httpx.Client,
) -> None:
    query = "query($id: ID!, $n: Int) { traverse(start: $id, maxDepth: $n) { truncated } }"
    body = gql(client, query, {"id": str(uuid.uuid4()), "n": 2**70})
    assert refused_code(body) == "VALIDATION_FAILED"
    assert "$n" in body["errors"][0]["message"]


def test_a_mutation_over_get_is_refused_with_a_code(client: httpx.Client) -> None:
    response = client.get(
        "/graphql", params={"query": 'mutation { createNamespace(input: {path: "g"}) { id } }'}
    )
    assert response.status_code == 405
    assert refused_code(response.json()) == "VALIDATION_FAILED"
    assert "GET" in response.json()["errors"][0]["message"]


# -- a document is checked once, each request answered as its own --------------------


def test_a_document_refused_twice_carries_each_requests_own_id(client: httpx.Client) -> None:
    bodies = [
        gql(client, "{ claims { nope } }", headers={"x-request-id": f"{i}" * 16}) for i in (1, 2)
    ]
    for i, body in enumerate(bodies, start=1):
        [error] = body["errors"]
        assert error["extensions"]["code"] == "VALIDATION_FAILED"
        assert error["extensions"]["request_id"] == f"{i}" * 16
        assert [d["path"] for d in error["extensions"]["details"]] == ["claims.nope"]
        assert "nope" in error["message"]
        assert error["locations"] == [{"line": 1, "column": 12}]


def test_a_document_too_large_to_keep_is_checked_and_run_on_every_request(
    client: httpx.Client,
) -> None:
    padding = "# " + "x" * (CACHEABLE_DOCUMENT_CHARS + 100) + "\n"
    for _ in range(2):
        assert data_of(gql(client, padding + "{ edgeTypes { name } }"))["edgeTypes"]
        broken = gql(client, padding + "{ edgeTypes { name }")
        assert refused_code(broken) == "VALIDATION_FAILED"
        assert "Syntax Error" in broken["errors"][0]["message"]


def test_the_named_operation_of_a_document_with_several_runs(client: httpx.Client) -> None:
    document = "query A { edgeTypes { name } } query B { namespaces { id } }"
    response = client.post("/graphql", json={"query": document, "operationName": "B"})
    assert data_of(response.json()) == {"namespaces": response.json()["data"]["namespaces"]}
    assert "edgeTypes" not in response.json()["data"]


def test_a_query_over_get_runs_with_its_variables(client: httpx.Client) -> None:
    query = "query($first: Int) { claims(first: $first) { edges { node { id } } } }"
    response = client.get("/graphql", params={"query": query, "variables": '{"first": 2}'})
    assert response.status_code == 200
    assert len(data_of(response.json())["claims"]["edges"]) <= 2


def test_an_invalid_mutation_over_get_is_refused_for_the_method_first(
    client: httpx.Client,
) -> None:
    response = client.get("/graphql", params={"query": "mutation { nope }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    [error] = response.json()["errors"]
    assert "GET" in error["message"]
    assert [d["path"] for d in error["extensions"]["details"]] == ["method"]


@pytest.mark.parametrize(
    "payload",
    [
        {"query": "query A { __typename }", "operationName": "C"},
        {"query": "{ __typename }", "variables": [1, 2]},
    ],
    ids=["an unknown operation name", "variables not an object"],
)
def test_an_operation_that_cannot_run_as_sent_is_400_with_a_code(
    client: httpx.Client, payload: dict[str, Any]
) -> None:
    response = client.post("/graphql", json=payload)
    assert response.status_code == 400
    assert refused_code(response.json()) == "VALIDATION_FAILED"


# -- production ----------------------------------------------------------------------


def test_introspection_is_refused_in_production(production: LiveServer) -> None:
    with httpx.Client(base_url=production.url) as http:
        body = gql(http, "{ __schema { queryType { name } } }")
        assert body["data"] is None
        assert set(error_codes(body)) == {"FORBIDDEN"}
        assert "introspection" in body["errors"][0]["message"].lower()
        body = gql(http, '{ __type(name: "Claim") { name } }')
        assert refused_code(body) == "FORBIDDEN"
        assert data_of(gql(http, "{ __typename }")) == {"__typename": "Query"}


def test_an_unexpected_error_in_production_is_internal_without_details(
    production: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail /etc/passwd")

    # A field the read planner does not answer: its resolver calls the broken store.
    monkeypatch.setattr(pending_store, "list_pending_references", broken)
    with httpx.Client(base_url=production.url) as http:
        body = gql(http, "{ pendingReferences { totalCount } }")
        assert error_codes(body) == ["INTERNAL"]
        assert body["errors"][0]["message"] == "internal error"
        assert "secret" not in json.dumps(body) and "stacktrace" not in json.dumps(body)
        monkeypatch.setattr(Authenticator, "authenticate", broken)
        response = http.post("/graphql", json={"query": "{ __typename }"})
        assert response.status_code == 500
        assert refused_code(response.json()) == "INTERNAL"
        assert "secret" not in response.text and "stacktrace" not in response.text


def test_introspection_works_in_development(client: httpx.Client) -> None:
    data = data_of(gql(client, "{ __schema { queryType { name } } }"))
    assert data["__schema"]["queryType"]["name"] == "Query"


def test_cors_in_production_allows_only_the_configured_origins(production: LiveServer) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    with httpx.Client(base_url=production.url) as http:
        allowed = http.options(
            "/graphql", headers={**preflight, "Origin": "https://app.example.org"}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.org"
        assert allowed.headers["access-control-allow-credentials"] == "true"
        other = http.options("/graphql", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        simple = http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": "https://app.example.org"},
        )
        exposed = simple.headers["access-control-expose-headers"].lower()
        assert "x-ratelimit-remaining" in exposed and "retry-after" in exposed


def test_cors_in_development_allows_every_origin_without_credentials(
    client: httpx.Client,
) -> None:
    response = client.options(
        "/graphql",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    )
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "access-control-allow-credentials" not in response.headers


def test_a_wildcard_origin_is_never_combined_with_credentials(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, environment="production", cors_origins=["*"])
    with LiveServer.run(settings) as live, httpx.Client(base_url=live.url) as http:
        response = http.options(
            "/graphql",
            headers={"Origin": "https://any.example", "Access-Control-Request-Method": "POST"},
        )
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


# -- subscriptions protocol ----------------------------------------------------------


async def test_only_the_graphql_transport_ws_protocol_is_accepted(server: LiveServer) -> None:
    async with websockets.connect(server.ws_url, subprotocols=["graphql-ws"]) as legacy:  # type: ignore[list-item]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await legacy.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406
    async with websockets.connect(
        server.ws_url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    ) as modern:
        assert modern.subprotocol == "graphql-transport-ws"
        await modern.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await modern.recv())["type"] == "connection_ack"


# -- persisted queries ---------------------------------------------------------------


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_apq_round_trip_miss_then_register_then_hit(client: httpx.Client) -> None:
    query = "query EdgeTypeNames { edgeTypes { name } } # apq round trip"
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}
    miss = client.post("/graphql", json={"extensions": persisted})
    assert miss.status_code == 200
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert refused_code(miss.json()) == "PERSISTED_QUERY_NOT_FOUND"
    registered = client.post("/graphql", json={"query": query, "extensions": persisted})
    assert len(data_of(registered.json())["edgeTypes"]) >= 15
    hit = client.post("/graphql", json={"extensions": persisted})
    assert data_of(hit.json()) == data_of(registered.json())
    # Apollo clients send hash-only queries over GET, so CDNs can cache them.
    over_get = client.get(
        "/graphql",
        params={"extensions": json.dumps(persisted), "operationName": "EdgeTypeNames"},
    )
    assert data_of(over_get.json()) == data_of(registered.json())


def test_apq_refuses_a_hash_that_does_not_match_the_document(client: httpx.Client) -> None:
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256("something else")}}
    response = client.post("/graphql", json={"query": "{ __typename }", "extensions": persisted})
    assert response.status_code == 400
    body = response.json()
    assert refused_code(body) == "VALIDATION_FAILED"
    assert body["errors"][0]["extensions"]["details"][0]["path"] == (
        "extensions.persistedQuery.sha256Hash"
    )


def test_allow_list_mode_runs_only_registered_documents(database_url: str, tmp_path: Path) -> None:
    listed = "query Listed { edgeTypes { name } }"
    manifest = tmp_path / "operations.json"
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": "x", "name": "Listed", "type": "query", "body": listed}],
            }
        )
    )
    settings = make_settings(database_url, tmp_path, graphql_allowlist_file=manifest)
    with LiveServer.run(settings) as live, httpx.Client(base_url=live.url) as http:
        by_hash = {"persistedQuery": {"version": 1, "sha256Hash": sha256(listed)}}
        assert data_of(http.post("/graphql", json={"extensions": by_hash}).json())["edgeTypes"]
        assert data_of(gql(http, listed))["edgeTypes"]
        unlisted = http.post("/graphql", json={"query": "{ namespaces { path } }"})
        assert unlisted.status_code == 403
        assert refused_code(unlisted.json()) == "FORBIDDEN"
        sneaky = "{ namespaces { id } }"
        register = {"persistedQuery": {"version": 1, "sha256Hash": sha256(sneaky)}}
        refused = http.post("/graphql", json={"query": sneaky, "extensions": register})
        assert refused.status_code == 403
        assert error_codes(refused.json()) == ["FORBIDDEN"]
