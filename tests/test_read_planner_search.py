"""The read planner answers `search` in every mode with one statement (the ranking its
first step, the hits' claims built in the same statement), and its answer is the
executor's: hand-written and generated search documents, with nested claim fields,
filters, `after` pages and drafts seen by four kinds of caller, go to a server with the
planner and to one without it, and the JSON must be equal."""

from __future__ import annotations

import asyncio
import os
import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import psycopg
import pytest
from graphql import parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pgvector import Vector
from pgvector.psycopg import register_vector

from phiacta.config import Settings
from phiacta.db.pool import Pool
from phiacta.embeddings import create_provider
from phiacta.graphql.engine.planner import NotCovered, plan_reads
from phiacta.graphql.engine.planner_search import QueryText, embed_queries
from phiacta.graphql.pagination import encode_cursor
from phiacta.store.read_plan import Search, SearchField, SearchHits
from phiacta.store.visibility import PUBLIC
from tests.factories import Factory
from tests.test_compiled_http import _comparable, make
from tests.test_read_planner import (
    SCHEMA,
    _compare,
    _difference,
    claim_selection,
    drafts,
    executor_client,
)

__all__ = ["drafts", "executor_client", "make"]

GENERATED = int(os.environ.get("PHIACTA_PLANNER_EXAMPLES", "100"))
MODES = ["SEMANTIC", "FULLTEXT", "HYBRID"]

# Overlapping words, so every mode finds several claims; two texts twice (the same
# distance and ts_rank: ties are broken by id).
TEXTS = [
    "Aspirin lowers the risk of a first heart attack in adults over fifty",
    "Statins reduce cholesterol and cardiovascular events",
    "Volcanic eruptions cool the global climate for a few years",
    "Emperor penguins breed during the Antarctic winter",
    "Regular exercise lowers blood pressure and the risk of heart disease",
    "A diet rich in salt raises blood pressure",
    "Heart attack survivors benefit from cardiac rehabilitation",
    "Penguins and seals share the Antarctic coast",
    "Global warming shifts the breeding season of birds",
    "Cholesterol in the blood is carried by lipoproteins",
    "Volcanic ash in the stratosphere reflects sunlight",
    "Aspirin lowers the risk of a first heart attack in adults over fifty",
    "Sleep loss raises the risk of heart disease",
    "Statins reduce cholesterol and cardiovascular events",
]
WORDS = ["heart", "risk", "blood", "penguins", "volcanic", "cholesterol", "climate", "attack"]
QUERIES = [
    *WORDS,
    "heart attack",
    '"heart attack" -aspirin',
    "blood OR penguins",
    "medicine that prevents heart disease",
    "zebra",
]


@pytest.fixture(scope="module")
def search_graph(database_url: str, settings: Settings, make: Factory) -> dict[str, Any]:
    """The texts above with real embeddings in a namespace tree of their own, edges and
    reviews between them, a retracted copy, a newer version and drafts by a key's agent."""

    async def embed(texts: list[str]) -> list[list[float]]:
        provider = create_provider(settings)
        try:
            return await provider.embed(texts)
        finally:
            await provider.aclose()

    vectors = asyncio.run(embed([*TEXTS, "secret heart draft"]))
    top = f"q{uuid.uuid4().hex[:8]}"
    parent = make.namespace(top)
    child = make.namespace("inner", parent_id=parent)
    bot = make.agent("search-bot", "pipeline")
    ids = [
        make.claim(
            text,
            namespace_id=(parent, child)[i % 2],
            created_by=bot if i % 3 == 0 else None,
            attrs={"k": i % 3},
            claim_type=("assertion", "theorem")[i % 4 == 1],
            embedding=vector,
        )
        for i, (text, vector) in enumerate(zip(TEXTS, vectors, strict=False))
    ]
    for i, claim in enumerate(ids[1:]):
        make.edge(ids[i], claim, ("supports", "depends_on", "related_to")[i % 3])
    make.claim(
        TEXTS[0] + " (withdrawn)", namespace_id=parent, status="retracted", embedding=vectors[0]
    )
    make.review(ids[0], make.agent("search-reviewer", trust_score=0.5), "endorse", 0.8)
    return {"namespace": top, "ids": [str(i) for i in ids], "bot": str(bot), "vectors": vectors}


SEARCH_DOCUMENT = """query ($q: String!, $mode: SearchMode, $first: Int, $f: ClaimFilter,
$after: String) { search(query: $q, mode: $mode, first: $first, filter: $f, after: $after) {
  __typename mode endCursor hasNextPage
  hits { __typename rank score similarity snippet rankings { __typename mode rank score }
    claim { id content status isLatest claimType createdAt attrs
      createdBy { name } namespace { path }
      confidence { epistemicStatus reviewCount }
      outgoing(first: 2) { totalCount edges { cursor node { label target { content } } } }
      versions { version } } } } }"""


def _planned(response: httpx.Response) -> bool:
    """Answered by a plan, not by a fallback: PostgreSQL's own JSON spacing."""
    return '" : ' in response.text


def _search(
    client: httpx.Client,
    executor: httpx.Client,
    query: str,
    variables: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> tuple[dict[str, Any], bool]:
    payload = {"query": query, "variables": variables}
    planned = client.post("/graphql", json=payload, headers=headers or {})
    executed = executor.post("/graphql", json=payload, headers=headers or {})
    assert planned.status_code == executed.status_code
    body, expected = _comparable(planned.json()), _comparable(executed.json())
    assert body == expected, _difference(body, expected)
    return body, _planned(planned)


async def test_the_statement_of_a_hybrid_search_is_one_a_dba_can_explain(
    pool: Pool, search_graph: dict[str, Any]
) -> None:
    document = parse(
        """query ($q: String!) { search(query: $q, filter: {namespace: "x.*"}) { hits {
        rank score rankings { mode rank } claim { content createdBy { name } } } } }"""
    )
    planned = plan_reads(SCHEMA, document, None)
    assert planned is not None
    params = planned.bind(SCHEMA, {"q": "heart attack"})
    params = {
        name: Vector(search_graph["vectors"][0]) if isinstance(value, QueryText) else value
        for name, value in params.items()
    }
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "EXPLAIN " + planned.statement(params), planned.values(params, PUBLIC)
        )
        plan = "\n".join(row[0] for row in await cursor.fetchall())
    # Both rankings in the one statement, each read once.
    assert plan.count("CTE semantic") == 1 and plan.count("CTE fulltext") == 1, plan


def test_a_search_plan_is_data() -> None:
    document = parse("""{ search(query: "x") { mode hits { rank claim { id } } hasNextPage } }""")
    planned = plan_reads(SCHEMA, document, None)
    assert planned is not None
    (search,) = planned.plan.fields
    assert isinstance(search, Search)
    assert search.parts[0] == SearchField("mode", "mode")
    assert isinstance(search.parts[1], SearchHits)
    assert search.parts[2] == SearchField("hasNextPage", "hasNextPage")
    # Its parameters: the query's (vector, text) and the page's; the claim filter's are
    # named under its prefix, as a claim list's.
    assert {"vector", "text", "limit", "offset", "size"} <= dict(search.roles).keys()
    assert search.filter is not None


@pytest.mark.parametrize(
    "query",
    [
        """query ($m: ConfidenceModel!) { search(query: "x") { hits { claim {
        confidence(model: $m) { reviewCount } } } } }""",
        '{ search(query: "x") { hits { rank rank } } }',
        'query ($s: Boolean!) { search(query: "x") { mode @include(if: $s) } }',
    ],
)
def test_a_search_the_planner_does_not_cover_is_left_to_the_executor(query: str) -> None:
    assert plan_reads(SCHEMA, parse(query), None) is None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("text", ["heart attack", "blood OR penguins", "zebra"])
def test_each_mode_is_planned_and_answers_as_the_executor(
    client: httpx.Client,
    executor_client: httpx.Client,
    search_graph: dict[str, Any],
    mode: str,
    text: str,
) -> None:
    variables = {"q": text, "mode": mode, "f": {"namespace": search_graph["namespace"] + ".*"}}
    for _ in range(2):  # the second run uses the statement prepared by the first
        body, planned = _search(client, executor_client, SEARCH_DOCUMENT, variables)
        assert planned
    search = body["data"]["search"]
    assert search["mode"] == mode
    if text != "zebra" or mode != "FULLTEXT":
        assert search["hits"]


@pytest.mark.parametrize("mode", MODES)
def test_pages_continue_from_either_paths_cursors(
    client: httpx.Client,
    executor_client: httpx.Client,
    search_graph: dict[str, Any],
    mode: str,
) -> None:
    variables: dict[str, Any] = {
        "q": "heart OR risk OR blood",
        "mode": mode,
        "first": 3,
        "f": {"namespace": search_graph["namespace"] + ".*", "latestOnly": False},
        "after": None,
    }
    seen: list[str] = []
    while True:
        body, planned = _search(client, executor_client, SEARCH_DOCUMENT, variables)
        assert planned
        page = body["data"]["search"]
        seen += [hit["claim"]["id"] for hit in page["hits"]]
        if not page["hasNextPage"]:
            break
        variables["after"] = page["endCursor"]
    assert len(seen) == len(set(seen)) >= 4


@pytest.mark.parametrize(
    "filter",
    [
        {"namespace": "{ns}"},
        {"namespace": "{ns}.inner"},
        {"namespace": "{ns}.*", "claimTypes": ["THEOREM"]},
        {"namespace": "{ns}.*", "includeRetracted": True},
        {"namespace": "{ns}.*", "statuses": ["RETRACTED"]},
        {"namespace": "{ns}.*", "attrs": {"k": 1}},
        {"namespace": "{ns}.*", "createdBy": "{bot}"},
        {"namespace": "{ns}.*", "createdAfter": "2000-01-01T00:00:00Z"},
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_filters_are_planned_and_answer_alike(
    client: httpx.Client,
    executor_client: httpx.Client,
    search_graph: dict[str, Any],
    filter: dict[str, Any],
    mode: str,
) -> None:
    given = {
        k: v.format(ns=search_graph["namespace"], bot=search_graph["bot"])
        if isinstance(v, str)
        else v
        for k, v in filter.items()
    }
    variables = {"q": "heart aspirin withdrawn", "mode": mode, "f": given}
    _, planned = _search(client, executor_client, SEARCH_DOCUMENT, variables)
    assert planned


@pytest.mark.parametrize(
    ("variables", "planned"),
    [
        ({"q": ""}, False),
        ({"q": "   "}, False),
        ({"q": "x" * 1001}, False),
        ({"q": "ok", "first": -1}, False),
        ({"q": "ok", "first": 201}, False),
        ({"q": "ok", "after": "not a cursor"}, False),
        ({"q": "ok", "after": encode_cursor("edge", [3])}, False),
        ({"q": "ok", "after": encode_cursor("search", [0])}, False),
        ({"q": "ok", "after": encode_cursor("search", [990]), "first": 20}, False),
        ({"q": "ok", "f": {"namespace": "Not Valid"}}, False),
        ({"q": "heart", "mode": None}, False),
        ({"q": "heart", "first": None, "after": None, "f": None}, True),
        ({"q": "heart", "after": encode_cursor("search", [999]), "first": 1}, True),
        ({"q": "heart", "first": 0}, True),
        ({"q": "heart", "first": 200}, True),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_arguments_the_resolver_refuses_are_its_own_errors(
    client: httpx.Client,
    executor_client: httpx.Client,
    search_graph: dict[str, Any],
    variables: dict[str, Any],
    planned: bool,
    mode: str,
) -> None:
    # `mode` given in `variables` (an explicit null) wins over the parameter.
    variables = {"mode": mode} | variables
    body, was_planned = _search(client, executor_client, SEARCH_DOCUMENT, variables)
    assert was_planned is planned
    if not planned:
        assert body["data"] is None
        assert len(body["errors"]) == 1


@pytest.mark.parametrize("mode", MODES)
def test_every_filter_condition_is_planned_in_a_search_too(
    client: httpx.Client,
    executor_client: httpx.Client,
    search_graph: dict[str, Any],
    mode: str,
) -> None:
    filters = [
        {"atRisk": False, "namespace": "x"},
        {"or": [{"claimTypes": ["ASSERTION"]}, {"not": {"atRisk": True}}]},
        {"epistemicStatuses": ["UNVERIFIED", "ENDORSED"], "minConfidence": 0.0},
    ]
    for filter in filters:
        variables = {"q": "heart", "mode": mode, "f": filter}
        body, planned = _search(client, executor_client, SEARCH_DOCUMENT, variables)
        assert planned, filter
        assert "errors" not in body


def test_without_an_embedder_semantic_queries_are_left_to_the_executor() -> None:
    context = SimpleNamespace(services=SimpleNamespace(embedder=None))
    with pytest.raises(NotCovered):
        asyncio.run(embed_queries({"p1": QueryText("heart")}, context))
    # Full text needs no embedder.
    assert asyncio.run(embed_queries({"p1": "heart"}, context)) == {"p1": "heart"}


def test_two_searches_and_other_roots_in_one_document(
    client: httpx.Client, executor_client: httpx.Client, search_graph: dict[str, Any]
) -> None:
    query = """query ($f: ClaimFilter, $id: ID!) {
    a: search(query: "heart", mode: SEMANTIC, filter: $f, first: 2) { hits { rank claim { id } } }
    b: search(query: "heart", mode: FULLTEXT, filter: $f) { endCursor hits { snippet } }
    claim(id: $id) { content } }"""
    variables = {"f": {"namespace": search_graph["namespace"] + ".*"}, "id": search_graph["ids"][0]}
    _, planned = _search(client, executor_client, query, variables)
    assert planned


# ---------------------------------------------------------------------------------------
# Generated search documents.
# ---------------------------------------------------------------------------------------

HIT_FIELDS = ["rank", "score", "similarity", "snippet", "__typename"]
RANKING_FIELDS = ["mode", "rank", "score", "__typename"]


@st.composite
def search_documents(draw: st.DrawFn, namespace: str) -> tuple[str, dict[str, Any]]:
    hit = draw(st.lists(st.sampled_from(HIT_FIELDS), min_size=0, max_size=5, unique=True))
    if draw(st.booleans()):
        ranking = draw(st.lists(st.sampled_from(RANKING_FIELDS), min_size=1, unique=True))
        hit.append("rankings { " + " ".join(ranking) + " }")
    if draw(st.booleans()) or not hit:
        hit.append("claim " + draw(claim_selection(1)))
    hit = draw(st.permutations(hit))
    result = draw(
        st.lists(
            st.sampled_from(["mode", "endCursor", "hasNextPage", "__typename"]),
            max_size=4,
            unique=True,
        )
    )
    result.append("hits { " + " ".join(hit) + " }")
    result = draw(st.permutations(result))
    filter_fields = st.fixed_dictionaries(
        {"namespace": st.sampled_from([namespace, namespace + ".*", namespace + ".inner"])},
        optional={
            "claimTypes": st.lists(st.sampled_from(["ASSERTION", "THEOREM"]), max_size=2),
            "statuses": st.lists(st.sampled_from(["ACTIVE", "DRAFT", "RETRACTED"]), max_size=2),
            "latestOnly": st.booleans(),
            "includeRetracted": st.booleans(),
            "attrs": st.sampled_from([{}, {"k": 1}, {"k": 0}]),
        },
    )
    variables = {
        "q": draw(st.sampled_from(QUERIES)),
        "mode": draw(st.sampled_from([*MODES, None])),
        "first": draw(st.none() | st.integers(0, 5)),
        "f": draw(filter_fields),
        "after": draw(st.none() | st.integers(1, 12).map(lambda n: encode_cursor("search", [n]))),
    }
    document = (
        "query ($q: String!, $mode: SearchMode, $first: Int, $f: ClaimFilter, $after: String) "
        "{ search(query: $q, mode: $mode, first: $first, filter: $f, after: $after) "
        f"{{ {' '.join(result)} }} }}"
    )
    return document, {k: v for k, v in variables.items() if v is not None}


def test_generated_searches_answer_alike(
    client: httpx.Client, executor_client: httpx.Client, search_graph: dict[str, Any]
) -> None:
    planned = refused = 0
    unplanned: list[tuple[str, dict[str, Any]]] = []

    @settings(
        max_examples=GENERATED,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=search_documents(search_graph["namespace"]))
    def run(case: tuple[str, dict[str, Any]]) -> None:
        nonlocal planned, refused
        document, variables = case
        reads = plan_reads(SCHEMA, parse(document), None)
        assert reads is not None
        body = _compare(client, executor_client, document, variables)
        response = client.post("/graphql", json={"query": document, "variables": variables})
        try:
            reads.bind(SCHEMA, variables)
        except NotCovered:
            # An argument a resolver refuses (`similar(first: 51)` under a hit): the
            # executor's, which reports it, or answers alike when no hit reaches it.
            refused += 1
            return
        if "errors" in body:  # refused before any path runs: over the cost limit
            codes = {e["extensions"]["code"] for e in body["errors"]}
            assert codes == {"LIMIT_EXCEEDED"}, body["errors"]
            refused += 1
        elif _planned(response):
            planned += 1
        else:
            unplanned.append(case)

    run()
    # Every generated request whose arguments bind, within the cost limit, is one the
    # planner answers itself.
    assert not unplanned, unplanned
    assert planned + refused == GENERATED


# ---------------------------------------------------------------------------------------
# Drafts: a search sees what its caller may, on either path.
# ---------------------------------------------------------------------------------------

DRAFT_SEARCH = """query ($q: String!, $mode: SearchMode, $f: ClaimFilter) {
search(query: $q, mode: $mode, filter: $f) { hasNextPage hits { rank score snippet
  claim { content status
    outgoing { totalCount edges { node { target { content status } } } }
    incoming { totalCount edges { node { source { content } } } }
    versions { content } } } } }"""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("statuses", [None, ["ACTIVE", "DRAFT"]])
def test_drafts_are_searched_alike_by_every_viewer(
    client: httpx.Client,
    executor_client: httpx.Client,
    drafts: dict[str, Any],
    database_url: str,
    settings: Settings,
    mode: str,
    statuses: list[str] | None,
) -> None:
    _embed_missing(database_url, settings)
    filter: dict[str, Any] = {"attrs": drafts["marker"], "latestOnly": False}
    if statuses is not None:
        filter["statuses"] = statuses
    variables = {"q": "secret OR premise OR lineage", "mode": mode, "f": filter}
    seen: dict[str, str] = {}
    for viewer, key in drafts["keys"].items():
        headers = key.headers if key is not None else {}
        payload = {"query": DRAFT_SEARCH, "variables": variables}
        response = client.post("/graphql", json=payload, headers=headers)
        _, planned = _search(client, executor_client, DRAFT_SEARCH, variables, headers)
        assert planned, viewer
        seen[viewer] = response.text
    for viewer in ("anonymous", "stranger"):
        assert "secret" not in seen[viewer], viewer
    if statuses is not None:
        for viewer in ("author", "admin"):
            assert "secret draft" in seen[viewer], viewer


def _embed_missing(database_url: str, settings: Settings) -> None:
    """The drafts fixture's claims with embeddings (of their content, by the test
    server's provider), so semantic search finds them."""

    async def embed(texts: list[str]) -> list[list[float]]:
        provider = create_provider(settings)
        try:
            return await provider.embed(texts)
        finally:
            await provider.aclose()

    with psycopg.connect(database_url, autocommit=True) as conn:
        register_vector(conn)
        rows = conn.execute("SELECT id, content FROM claims WHERE embedding IS NULL").fetchall()
        if not rows:
            return
        vectors = asyncio.run(embed([content for _, content in rows]))
        for (claim_id, _), vector in zip(rows, vectors, strict=True):
            conn.execute(
                "UPDATE claims SET embedding = %s WHERE id = %s", [Vector(vector), claim_id]
            )
