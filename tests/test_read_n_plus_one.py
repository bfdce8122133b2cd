"""A page's statement count does not grow with its size: the read planner answers it
with one statement, and the executor (the planner off, as for the documents the
planner does not cover) batches every nested field through the loaders."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog

from phiacta.config import Settings
from phiacta.observability.sql import TimedCursor
from tests.factories import Factory
from tests.support import LiveServer, data_of, gql, make_settings

PAGE = """
query ($filter: ClaimFilter, $first: Int) {
  claims(filter: $filter, first: $first) {
    edges { node {
      content
      createdBy { name }
      namespace { path }
      confidence { epistemicStatus }
      reviews(first: 3) { edges { node { verdict reviewer { name } } } }
      outgoing(first: 3) { edges { node { edgeType target { content createdBy { name } } } } }
    } }
  }
}
"""


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The module's server runs the executor: its loaders are what is tested here."""
    return make_settings(database_url, tmp_path_factory.mktemp("data"), graphql_read_planner=False)


@pytest.fixture(scope="module")
def planned_client(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    settings = make_settings(database_url, tmp_path_factory.mktemp("planned"))
    with LiveServer.run(settings) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        yield http


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement a request sends through the server's pool while the test is active.

    The pool's connections make their cursors from `TimedCursor` (phiacta.db.pool), and
    the test server runs in this process, so wrapping its `execute` sees every statement
    a request sends to PostgreSQL, whichever connection it uses. Statements run outside
    a request (the pool opening a connection, the event bus, the view refresher, the
    webhook worker) have no request id bound and are not the request's doing.
    """
    seen: list[str] = []
    original = TimedCursor.execute

    async def counting(self: TimedCursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if structlog.contextvars.get_contextvars().get("request_id"):
            seen.append(" ".join(str(query).split())[:80])
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(TimedCursor, "execute", counting)
    yield seen


def arrange(database_url: str, size: int) -> dict[str, str]:
    """`size` claims, each with a creator, a namespace, two reviews and two outgoing edges
    to targets with their own creators."""
    make = Factory(database_url)
    marker = {"n_plus_one": uuid.uuid4().hex}
    ns = make.namespace(f"n{uuid.uuid4().hex[:8]}")
    try:
        for i in range(size):
            author = make.agent(f"author {i}")
            claim = make.claim(f"claim {i}", created_by=author, namespace_id=ns, attrs=marker)
            for verdict in ("endorse", "dispute"):
                make.review(claim, make.agent(f"reviewer {i}"), verdict)
            for j in range(2):
                target = make.claim(f"target {i}.{j}", created_by=make.agent(f"t-author {i}"))
                make.edge(claim, target, "supports")
    finally:
        make.close()
    return marker


def run_page(client: httpx.Client, marker: dict[str, str], size: int) -> list[dict[str, Any]]:
    body = gql(client, PAGE, {"filter": {"attrs": marker}, "first": size})
    nodes: list[dict[str, Any]] = [e["node"] for e in data_of(body)["claims"]["edges"]]
    return nodes


def test_a_page_runs_the_same_statements_for_10_and_50_claims(
    database_url: str, client: httpx.Client, statements: list[str]
) -> None:
    small, large = arrange(database_url, 10), arrange(database_url, 50)
    # Warm up: a pooled connection runs set-up statements once, when it is opened.
    run_page(client, large, 50)
    run_page(client, small, 10)

    statements.clear()
    ten = run_page(client, small, 10)
    count_for_10 = len(statements)
    ten_statements = list(statements)

    statements.clear()
    fifty = run_page(client, large, 50)
    count_for_50 = len(statements)

    assert len(ten) == 10 and len(fifty) == 50
    assert all(len(n["outgoing"]["edges"]) == 2 and len(n["reviews"]["edges"]) == 2 for n in fifty)
    assert all(e["node"]["target"]["createdBy"] for n in fifty for e in n["outgoing"]["edges"])
    # list, creators, namespaces, confidence, reviews, outgoing, reviewers, targets,
    # target creators: one statement each, whatever the page size. Reviewers and the
    # targets' creators are both agents: when their loads fall in the same event-loop
    # turn (the two reads before them finish together) they share one batch, so a page
    # runs 8 or 9 statements, of the same kinds at 10 and at 50 claims.
    assert set(ten_statements) == set(statements), (ten_statements, statements)
    assert count_for_10 <= 9 and count_for_50 <= 9, (ten_statements, statements)


CLAIM_WITH_EDGES = """
query ($id: ID!, $first: Int) {
  claim(id: $id) {
    content
    createdBy { name }
    outgoing(first: $first) { edges { node { edgeType target { content createdBy { name } } } } }
  }
}
"""


def test_a_planned_page_is_one_statement_for_10_and_50_claims(
    database_url: str, planned_client: httpx.Client, statements: list[str]
) -> None:
    small, large = arrange(database_url, 10), arrange(database_url, 50)
    run_page(planned_client, large, 50)  # warm-up: the connection's set-up statements

    for marker, size in ((small, 10), (large, 50)):
        statements.clear()
        nodes = run_page(planned_client, marker, size)
        assert len(nodes) == size
        assert len(statements) == 1, statements


def test_a_claim_with_its_creator_and_first_edges_and_targets_is_one_statement(
    database_url: str, planned_client: httpx.Client, statements: list[str]
) -> None:
    make = Factory(database_url)
    try:
        author = make.agent(f"author {uuid.uuid4().hex[:8]}")
        claim = make.claim("the hub", created_by=author)
        for i in range(3):
            make.edge(claim, make.claim(f"spoke {i}", created_by=author), "supports")
    finally:
        make.close()
    gql(planned_client, CLAIM_WITH_EDGES, {"id": str(claim), "first": 2})  # warm-up

    statements.clear()
    variables = {"id": str(claim), "first": 2}
    data = data_of(gql(planned_client, CLAIM_WITH_EDGES, variables))["claim"]

    assert data["createdBy"]["name"].startswith("author")
    assert [e["node"]["target"]["content"] for e in data["outgoing"]["edges"]] == [
        "spoke 0",
        "spoke 1",
    ]
    assert all(e["node"]["target"]["createdBy"] for e in data["outgoing"]["edges"])
    assert len(statements) == 1, statements


def test_a_query_of_typenames_alone_sends_no_statement(
    planned_client: httpx.Client, statements: list[str]
) -> None:
    # The ping many clients send first: nothing in it is read from the database.
    data = data_of(gql(planned_client, "{ __typename a: __typename }"))
    assert data == {"__typename": "Query", "a": "Query"}
    assert statements == []
