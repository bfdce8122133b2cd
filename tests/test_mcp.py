"""The MCP server as agents use it: the SDK's own client over streamable HTTP and stdio."""

from __future__ import annotations

import base64
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextResourceContents

from phiacta.config import Settings
from tests.live_client import LiveClient, append_events, claim_created, until_subscribed
from tests.papers import Paper, write_markdown, write_pdf
from tests.support import (
    TEST_API_KEY_SALT,
    ApiKey,
    LiveServer,
    check_validation_details,
    create_api_key,
    data_of,
    gql,
    settings_env,
    unique_name,
)

TOOLS = {
    "search_claims",
    "get_claim",
    "traverse",
    "find_path",
    "evidence_for",
    "list_edge_types",
    "submit_claims",
    "review_claim",
    "revise_claim",
    "link_claims",
    "ingest_paper",
}
WRITER_SCOPES = ["claims:read", "claims:write", "bundles:write", "reviews:write"]


@pytest.fixture(scope="module")
def writer(database_url: str) -> ApiKey:
    return create_api_key(database_url, WRITER_SCOPES, agent_type="ai")


@pytest.fixture(scope="module")
def reviewer(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["claims:read", "reviews:write"], agent_type="ai")


@pytest.fixture(scope="module")
def reader(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["claims:read"], agent_type="ai")


@asynccontextmanager
async def http_client(server: LiveServer, key: ApiKey | None) -> AsyncIterator[Client]:
    headers = key.headers if key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client,
    ):
        yield client


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def error_of(result: CallToolResult) -> dict[str, Any]:
    assert result.is_error, result.structured_content
    assert result.structured_content is not None
    error: dict[str, Any] = result.structured_content["error"]
    check_validation_details([error])
    return error


async def submit_pair(client: Client, namespace: str) -> dict[str, str]:
    """Two new claims, the first supporting the second; their ids by temp id."""
    result = await client.call_tool(
        "submit_claims",
        {
            "source": {"source_type": "PAPER", "title": "A trial", "external_ref": None},
            "claims": [
                {"temp_id": "a", "content": f"Aspirin lowers platelet aggregation {namespace}"},
                {"temp_id": "b", "content": f"Aspirin lowers heart attack risk {namespace}"},
            ],
            "edges": [
                {"source": {"temp_id": "a"}, "target": {"temp_id": "b"}, "edge_type": "supports"}
            ],
            "namespace": namespace,
            "create_namespaces": True,
        },
    )
    payload = structured(result)["submitBundle"]
    return {claim["tempId"]: claim["id"] for claim in payload["claims"]}


async def test_an_agent_lists_what_the_server_offers(server: LiveServer, reader: ApiKey) -> None:
    async with http_client(server, reader) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        prompts = {p.name for p in (await client.list_prompts()).prompts}
    assert set(tools) >= TOOLS
    assert tools["submit_claims"].input_schema["required"] == ["source", "claims"]
    assert "bundles:write" in (tools["submit_claims"].description or "")
    assert resources == {"phiacta://schema", "phiacta://edge-types"}
    assert templates == {"phiacta://claim/{id}", "phiacta://source/{id}"}
    assert prompts == {"ingest_paper", "find_contradictions", "summarise_evidence"}


async def test_an_agent_submits_searches_reads_and_reviews_over_http(
    server: LiveServer, client: httpx.Client, writer: ApiKey, reviewer: ApiKey
) -> None:
    namespace = unique_name("mcp")
    async with http_client(server, writer) as agent:
        ids = await submit_pair(agent, namespace)
        again = await submit_pair(agent, namespace)
        hits = structured(
            await agent.call_tool(
                "search_claims",
                {"query": "heart attack", "mode": "FULLTEXT", "namespace": namespace},
            )
        )["search"]["hits"]
        claim = structured(await agent.call_tool("get_claim", {"id": ids["b"]}))["claim"]
        evidence = structured(await agent.call_tool("evidence_for", {"claim_id": ids["b"]}))
        read = await agent.read_resource(f"phiacta://claim/{ids['b']}")
    async with http_client(server, reviewer) as judge:
        review = await judge.call_tool(
            "review_claim", {"claim_id": ids["b"], "verdict": "ENDORSE", "confidence": 0.9}
        )

    assert again == ids, "the same submission twice writes once"
    assert [hit["claim"]["id"] for hit in hits] == [ids["b"]]
    assert claim["incoming"]["edges"][0]["node"]["sourceId"] == ids["a"]
    assert claim["incoming"]["edges"][0]["node"]["label"] == "supported_by"
    assert claim["confidence"]["epistemicStatus"] == "UNVERIFIED"
    assert [s["claim"]["id"] for s in evidence["evidence"]["supporting"]] == [ids["a"]]
    contents = read.contents[0]
    assert isinstance(contents, TextResourceContents) and ids["a"] in contents.text
    confidence = structured(review)["createReview"]["review"]["claim"]["confidence"]
    assert confidence["endorsementCount"] == 1
    assert "endorse" in review.content[0].text  # type: ignore[union-attr]

    # The agent's writes are GraphQL's: the same claim, edge and review.
    seen = data_of(
        gql(
            client,
            "query($id: ID!) { claim(id: $id) { content createdById "
            "confidence { endorsementCount } incoming { totalCount } } }",
            {"id": ids["b"]},
        )
    )["claim"]
    assert seen["createdById"] == str(writer.agent_id)
    assert seen["confidence"]["endorsementCount"] == 1
    assert seen["incoming"]["totalCount"] == 1


async def test_a_key_without_the_scope_is_refused_with_our_code(
    server: LiveServer, reader: ApiKey, client: httpx.Client
) -> None:
    namespace = unique_name("refused")
    async with http_client(server, reader) as agent:
        refused = await agent.call_tool(
            "submit_claims",
            {
                "source": {"source_type": "PAPER"},
                "claims": [{"temp_id": "x", "content": "never written"}],
                "namespace": namespace,
                "create_namespaces": True,
            },
        )
        invalid = await agent.call_tool("get_claim", {"id": "not-a-uuid"})
    assert error_of(refused)["code"] == "FORBIDDEN"
    assert "bundles:write" in error_of(refused)["message"]
    assert error_of(invalid)["code"] == "VALIDATION_FAILED"
    listed = data_of(
        gql(
            client,
            "query($ns: String) { claims(filter: {namespace: $ns}) { totalCount } }",
            {"ns": namespace},
        )
    )
    assert listed["claims"]["totalCount"] == 0


async def test_an_agent_ingests_a_paper_and_gets_its_claim_ids(
    server: LiveServer, client: httpx.Client, writer: ApiKey, reader: ApiKey, tmp_path: Path
) -> None:
    paper = Paper(title="Caffeine and reaction time", doi=f"10.5555/{unique_name('mcp')}")
    text = write_markdown(paper, tmp_path).read_text()
    call = {"format": "markdown", "content": text, "name": "caffeine.md"}
    async with http_client(server, writer) as agent:
        first = structured(await agent.call_tool("ingest_paper", call))["submitBundle"]
        again = structured(await agent.call_tool("ingest_paper", call))["submitBundle"]
        bad = await agent.call_tool(
            "ingest_paper", {"format": "pdf", "content_base64": "not base64 at all!"}
        )
        neither = await agent.call_tool("ingest_paper", {"format": "text"})
    async with http_client(server, reader) as reading:
        refused = await reading.call_tool("ingest_paper", call)

    ids = [claim["id"] for claim in first["claims"]]
    assert len(ids) >= len(paper.claims) - 1
    assert again["replayed"] and [claim["id"] for claim in again["claims"]] == ids
    assert error_of(bad)["code"] == "VALIDATION_FAILED"
    assert [d["path"] for d in error_of(bad)["details"]] == ["content_base64"]
    assert [d["path"] for d in error_of(neither)["details"]] == ["content"]
    assert error_of(refused)["code"] == "FORBIDDEN"
    assert "bundles:write" in error_of(refused)["message"]
    seen = data_of(
        gql(
            client,
            "query($id: ID!) { claim(id: $id) "
            "{ createdById provenance { source { externalRef } } } }",
            {"id": ids[0]},
        )
    )["claim"]
    assert seen["createdById"] == str(writer.agent_id)
    assert seen["provenance"][0]["source"]["externalRef"] == paper.doi


def test_a_bad_key_is_unauthenticated_before_mcp_runs(server: LiveServer) -> None:
    response = httpx.post(
        f"{server.url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": "Bearer phk_nope_nope", "Accept": "application/json"},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_agents_write_reaches_a_subscription(
    server: LiveServer, writer: ApiKey, database_url: str
) -> None:
    namespace = unique_name("live")
    async with LiveClient.connect(server.ws_url) as live:
        op = await live.subscribe(
            "subscription($f: ClaimCreatedFilter) { claimCreated(filter: $f) "
            "{ claimId namespacePath } }",
            {"f": {"namespace": namespace}},
        )

        async def probe() -> str:
            event = claim_created(namespace)
            await append_events(database_url, [event])
            return str(event[1]["claim_id"])

        probes = await until_subscribed(live, op, probe, lambda d: d["claimCreated"]["claimId"])
        async with http_client(server, writer) as agent:
            ids = await submit_pair(agent, namespace)
        seen: set[str] = set()
        while not set(ids.values()) <= seen:
            event = (await live.next_data(op))["claimCreated"]
            if event["claimId"] not in probes:
                seen.add(event["claimId"])
    assert seen == set(ids.values())


def stdio_server(settings: Settings, *args: str, **env: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "phiacta", "mcp", *args],
        env={
            "API_KEY_SALT": TEST_API_KEY_SALT,
            "PHIACTA_DATA_DIR": str(settings.phiacta_data_dir),
            "EMBEDDING_PROVIDER": "local",
            "LOG_LEVEL": "warning",
            **env,
        },
    )


def local_stdio_server(settings: Settings, key: ApiKey) -> StdioServerParameters:
    """`phiacta mcp` on the test database by the route the server takes (direct, or
    through PgBouncer with LISTEN going direct), logging at info so that start-up lines
    are written: every one must reach stderr, not the protocol's stdout."""
    route = settings_env(settings)
    return stdio_server(settings, PHIACTA_API_KEY=key.raw, LOG_LEVEL="info", **route)


def assert_stdout_was_protocol_only(caplog: pytest.LogCaptureFixture) -> None:
    unreadable = [r for r in caplog.records if r.name == "mcp.client.stdio"]
    assert not unreadable, [r.getMessage() for r in unreadable]


async def test_stdio_on_the_local_database_acts_as_the_keys_agent(
    settings: Settings,
    writer: ApiKey,
    reader: ApiKey,
    client: httpx.Client,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    namespace = unique_name("stdio")
    paper = Paper(title="Caffeine in print", doi=f"10.5555/{unique_name('pdf')}")
    pdf = base64.b64encode(write_pdf(paper, tmp_path).read_bytes()).decode()
    async with Client(local_stdio_server(settings, writer)) as agent:
        assert {tool.name for tool in (await agent.list_tools()).tools} >= TOOLS
        assert {p.name for p in (await agent.list_prompts()).prompts} >= {"ingest_paper"}
        ids = await submit_pair(agent, namespace)
        types = structured(await agent.call_tool("list_edge_types", {}))["edgeTypes"]
        hits = structured(
            await agent.call_tool(
                "search_claims", {"query": "platelet", "mode": "FULLTEXT", "namespace": namespace}
            )
        )["search"]["hits"]
        read = await agent.read_resource(f"phiacta://claim/{ids['a']}")
        review = structured(
            await agent.call_tool("review_claim", {"claim_id": ids["a"], "verdict": "ENDORSE"})
        )["createReview"]
        ingested = structured(
            await agent.call_tool(
                "ingest_paper", {"format": "pdf", "content_base64": pdf, "name": "print.pdf"}
            )
        )["submitBundle"]
    assert "supports" in {t["name"] for t in types}
    assert [hit["claim"]["id"] for hit in hits] == [ids["a"]]
    contents = read.contents[0]
    assert isinstance(contents, TextResourceContents) and ids["b"] in contents.text
    assert review["review"]["reviewerId"] == str(writer.agent_id)
    for claim_id in (ids["a"], ingested["claims"][0]["id"]):
        created = data_of(
            gql(client, "query($id: ID!) { claim(id: $id) { createdById } }", {"id": claim_id})
        )
        assert created["claim"]["createdById"] == str(writer.agent_id)

    async with Client(local_stdio_server(settings, reader)) as agent:
        refused = await agent.call_tool(
            "link_claims", {"source_id": ids["b"], "target_id": ids["a"], "edge_type": "related_to"}
        )
    assert error_of(refused)["code"] == "FORBIDDEN"
    assert_stdout_was_protocol_only(caplog)


async def test_stdio_calls_a_remote_server_with_the_key(
    server: LiveServer, settings: Settings, writer: ApiKey
) -> None:
    namespace = unique_name("remote")
    remote = stdio_server(settings, "--url", server.url, "--api-key", writer.raw)
    async with Client(remote) as agent:
        ids = await submit_pair(agent, namespace)
        walk = structured(
            await agent.call_tool("traverse", {"start": ids["a"], "edge_types": ["supports"]})
        )
        schema = await agent.read_resource("phiacta://schema")
    assert [node["claim"]["id"] for node in walk["traverse"]["nodes"]] == [ids["a"], ids["b"]]
    contents = schema.contents[0]
    assert isinstance(contents, TextResourceContents) and "type Claim" in contents.text


async def test_tool_calls_count_against_the_callers_graphql_rate_limit(
    settings: Settings, reader: ApiKey
) -> None:
    limited = settings.model_copy(update={"rate_limits": {**settings.rate_limits, "search": 1}})
    with LiveServer.run(limited) as strict:
        async with http_client(strict, reader) as agent:
            first = await agent.call_tool("search_claims", {"query": "aspirin"})
            second = await agent.call_tool("search_claims", {"query": "aspirin"})
            read = await agent.call_tool("list_edge_types", {})
    assert not first.is_error
    assert error_of(second)["code"] == "RATE_LIMITED"
    assert error_of(second)["retryAfter"] >= 1
    assert not read.is_error, "another group's limit is untouched"
