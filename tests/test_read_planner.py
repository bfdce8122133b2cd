"""The read planner answers a covered query with one SQL statement, and its answer is
the executor's, byte for byte once parsed: every query of the compiled-execution
suite, the planner's own, and generated ones go to a server with the planner and to
one without it (GRAPHQL_READ_PLANNER=false), and the JSON must be equal."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import psycopg
import pytest
from graphql import parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phiacta.db.pool import Pool
from phiacta.graphql.engine.planner import NotCovered, PlannedReads, plan_reads
from phiacta.graphql.fields.claims import MAX_FILTER_DEPTH
from phiacta.graphql.schema import build_schema
from phiacta.store.read_plan import (
    Column,
    Cursor,
    Node,
    Page,
    PageEdges,
    PageInfo,
    PageInfoField,
    ReadPlan,
    Related,
    TotalCount,
)
from phiacta.store.visibility import PUBLIC
from tests.factories import Factory
from tests.support import LiveServer, create_api_key, make_settings
from tests.test_compiled_http import QUERIES, _comparable, _variables, graph, make

__all__ = ["graph", "make"]

# Generated documents compared (PHIACTA_PLANNER_EXAMPLES raises it).
GENERATED = int(os.environ.get("PHIACTA_PLANNER_EXAMPLES", "100"))

SCHEMA = build_schema()._schema


@pytest.fixture(scope="module")
def executor_client(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    settings = make_settings(
        database_url, tmp_path_factory.mktemp("executor"), graphql_read_planner=False
    )
    with LiveServer.run(settings) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        yield http


def _vector(slope: float) -> list[float]:
    return [slope, 1.0] + [0.0] * 382


@pytest.fixture(scope="module")
def wide_graph(make: Factory, graph: dict[str, str]) -> dict[str, str]:
    """More claims and edges around `graph`: drafts, a namespace subtree, attrs."""
    bot = make.agent("wide-bot", "pipeline")
    parent = make.namespace("wide")
    child = make.namespace("inner", parent_id=parent)
    # Embeddings at distinct angles, so every claim's nearest ones come in one order.
    slopes = [0.0, 0.3, 1.1, 2.0, 4.5, 9.0]
    claims = [
        make.claim(
            f"wide {i}",
            namespace_id=(parent, child)[i % 2],
            created_by=bot,
            attrs={"k": i},
            embedding=_vector(slopes[i]),
        )
        for i in range(6)
    ]
    for i, claim in enumerate(claims[1:]):
        make.edge(claims[i], claim, ("supports", "depends_on", "related_to")[i % 3])
    draft = make.claim("a draft", status="draft", embedding=_vector(0.35))
    make.edge(draft, claims[0], "supports")
    paper = make.source("Wide paper", external_ref="10.1000/wide")
    make.conn.execute(
        "INSERT INTO source_identifiers (identifier, source_id) VALUES ('arXiv:2101.00001', %s)",
        (paper,),
    )
    bundle = make.bundle(bot, source_id=paper)
    make.bundle(bot, status="rejected")
    make.bundle(make.agent("wide-submitter"), source_id=paper)
    make.artifact(claims[:3], bundle_id=bundle, description="figure 1")
    make.artifact([claims[0]], description="loose table")
    positions = [(None, None, None), (1, None, None), (2, 3, 0)]
    for claim, position in zip(claims[:3], positions, strict=True):
        make.provenance(claim, paper, extracted_by=bot, position=position)
        make.review(claim, bot, "endorse", 0.9)  # a self-review: shown, not counted
    # Counted reviews with weights: both models, a dispute, a bot its owner runs.
    trusted = make.agent("wide-trusted", trust_score=0.5)
    owned = make.agent("wide-owned", "pipeline", owned_by=bot, trust_score=2.0)
    make.review(claims[0], trusted, "endorse", 0.8)
    make.review(claims[1], trusted, "endorse", 0.75)
    make.review(claims[1], make.agent("wide-doubter", trust_score=0.25), "dispute", 0.6)
    make.review(claims[2], owned, "endorse", 1.0)
    make.review(claims[3], trusted, "endorse", 0.5)  # under review
    formal = make.claim(
        "wide formal", namespace_id=child, created_by=bot, formal_content="x = x", attrs={"k": 6}
    )
    make.review(formal, trusted, "endorse", 0.6)  # formally verified
    # A retracted premise: wide 3 depends on it, it implies wide 5, and wide 4 depends on
    # wide 5 (at risk two steps away).
    premise = make.claim("wide premise", namespace_id=parent, created_by=bot, attrs={"k": 9})
    make.set_status(premise, "retracted")
    make.edge(claims[3], premise, "depends_on")
    make.edge(premise, claims[5], "implies")
    # A lineage reviewed across versions: each reviewer counts by its newest review.
    first = make.claim("wide lineage v1", created_by=bot)
    make.review(first, trusted, "dispute", 0.7)
    make.review(first, owned, "endorse", 0.9)
    revised = make.revise(first, "wide lineage v2")
    make.review(revised, trusted, "endorse", 0.95)
    return {
        **graph,
        "wide": str(claims[0]),
        "draft": str(draft),
        "bot": str(bot),
        "paper": str(paper),
        "bundle": str(bundle),
        "revised": str(revised),
        "first_version": str(first),
    }


def test_a_plan_is_data_printed_and_compared_without_a_database() -> None:
    document = parse(
        """query ($id: ID!) { claim(id: $id) { id status createdBy { name }
        outgoing(first: 2) { totalCount pageInfo { hasNextPage }
          edges { cursor node { label target { content } } } } } }"""
    )
    planned = plan_reads(SCHEMA, document, None)
    assert planned is not None
    edges = Node(
        "edges",
        (
            Column("label", "edge_type"),
            Related("target", "edge.target", Node("claims", (Column("content", "content"),))),
        ),
    )
    outgoing = Page(
        "outgoing",
        "claim.outgoing",
        ("edge", "edge"),
        (
            TotalCount("totalCount"),
            PageInfo("pageInfo", (PageInfoField("hasNextPage", "hasNextPage"),)),
            PageEdges("edges", (Cursor("cursor"), Related("node", "page.node", edges))),
        ),
        (("after_at", "p3"), ("after_id", "p4"), ("edge_types", "p5"), ("first", "p2")),
    )
    claim = Node(
        "claims",
        (
            Column("id", "id"),
            Column("status", "status", enum=True),
            Related("createdBy", "claim.created_by", Node("agents", (Column("name", "name"),))),
            outgoing,
        ),
    )
    assert planned.plan == ReadPlan((Related("claim", "root.claim", claim, (("id", "p1"),)),))
    assert planned.plan.params() == {"p1", "p2", "p3", "p4", "p5"}


@pytest.mark.parametrize(
    "query",
    [
        """{ path(from: "00000000-0000-0000-0000-000000000001",
        to: "00000000-0000-0000-0000-000000000002") { length } }""",
        "query ($s: Boolean!) { claims { totalCount @include(if: $s) } }",
        "{ claims { totalCount } pendingReferences { totalCount } }",
        "{ claims { totalCount totalCount } }",
        """query ($m: ConfidenceModel!) { claim(id: "00000000-0000-0000-0000-000000000001") {
        confidence(model: $m) { reviewCount } } }""",
        "{ __schema { queryType { name } } }",
        "{ __typename }",  # nothing to read: the executor answers without the database
        'mutation { createAgent(input: {name: "x", agentType: HUMAN}) { id } }',
    ],
)
def test_a_document_the_planner_does_not_cover_is_left_to_the_executor(query: str) -> None:
    assert plan_reads(SCHEMA, parse(query), None) is None


async def test_the_statement_of_a_page_of_claims_is_one_a_dba_can_explain(pool: Pool) -> None:
    document = parse(
        """{ claims(first: 50) { totalCount pageInfo { endCursor } edges { node {
        content confidence { epistemicStatus } namespace { path } createdBy { name }
        outgoing(first: 5) { edges { node { target { content } } } } } } } }"""
    )
    planned = plan_reads(SCHEMA, document, None)
    assert planned is not None
    params = planned.bind(SCHEMA, None)
    values = planned.values(params, PUBLIC)
    async with pool.connection() as conn:
        cursor = await conn.execute("EXPLAIN " + planned.statement(params), values)
        plan = "\n".join(row[0] for row in await cursor.fetchall())
    assert "Limit" in plan
    assert "Seq Scan on edges" not in plan


PLANNER_QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "page of claims with edges",
        """{ claims(first: 50) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor
        endCursor } edges { cursor node { id lineageId version isLatest claimType content
        formalContent status namespaceId createdById supersedesId attrs createdAt
        createdBy { id name agentType externalId trustScore attrs createdAt }
        namespace { id name path parentId description attrs createdAt parent { path }
                    children { name } }
        confidence { model reviewCount selfReviewCount endorsementCount disputeCount
          meanEndorsementConfidence endorsementWeight disputeWeight epistemicStatus }
        simple: confidence(model: SIMPLE) { model meanEndorsementConfidence endorsementWeight
          disputeWeight epistemicStatus }
        outgoing(first: 5) { totalCount edges { cursor node { id edgeType label strength
          attrs createdAt sourceId targetId createdById sourceProvenanceId
          type { name inverseName isTransitive isSymmetric isAntiReflexive category }
          target { id content } createdBy { name } } } }
        incoming { edges { node { label source { content incoming { totalCount } } } } }
        } } } }""",
        {},
    ),
    (
        "filters and orders",
        """query ($f: ClaimFilter, $o: ClaimOrder!) { all: claims(filter: $f, orderBy: $o,
        first: 3) { totalCount pageInfo { endCursor } edges { cursor node { content } } } }""",
        {"f": {"namespace": "wide.*", "latestOnly": False}, "o": "CREATED_AT_ASC"},
    ),
    (
        "the whole namespace and attrs",
        """{ claims(filter: {namespace: "wide", attrs: {k: 2}}) { totalCount
        edges { node { content } } } }""",
        {},
    ),
    (
        "versions and supersedes",
        """query ($id: ID!) { claim(id: $id) { __typename versions { id version isLatest
        supersedes { id } } supersedes { content } } }""",
        {"id": "claim"},
    ),
    (
        "edge types asked for, fragments",
        """query ($id: ID!) { claim(id: $id) { ...C outgoing(edgeTypes: ["supports"]) {
        __typename totalCount edges { __typename node { ... on Edge { edgeType } } } } } }
        fragment C on Claim { content }""",
        {"id": "claim"},
    ),
    (
        "a draft by id",
        """query ($id: ID!) { claim(id: $id) { status outgoing { totalCount } } }""",
        {"id": "draft"},
    ),
    (
        "a claim's provenance, reviews and artifacts",
        """query ($id: ID!) { claim(id: $id) {
        provenance { id claimId sourceId extractedById extractionMethod locationInSource
          confidence attrs createdAt claim { id } extractedBy { name }
          source { id sourceType title externalRef contentHash submittedById attrs createdAt
                   submittedBy { name } } }
        reviews(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { cursor
          node { id claimId reviewerId verdict confidence comment attrs createdAt updatedAt
                 reviewer { name } claim { id } } } }
        artifacts { id bundleId artifactType description storageRef contentInline
          structuredData attrs createdAt claims { id } } } }""",
        {"id": "wide"},
    ),
    (
        "agent, source and bundle by id",
        """query ($a: ID!, $s: ID!, $b: ID!) { agent(id: $a) { name agentType }
        source(id: $s) { title submittedBy { id } }
        bundle(id: $b) { id idempotencyKey submittedById extensionId contributorId sourceId
          status claimCount edgeCount artifactCount attrs submittedAt submittedBy { name }
          contributor { name } source { title } artifacts { description claims { content } } }
        none: agent(id: "00000000-0000-0000-0000-000000000000") { id } }""",
        {"a": "bot", "s": "paper", "b": "bundle"},
    ),
    (
        "edge types and namespaces",
        """{ edgeTypes { name description inverseName isTransitive isSymmetric
        isAntiReflexive category attrs createdAt } namespaces { path children { path } }
        namespaceTree { __typename name path children { name children { name parent { path } } }
        } }""",
        {},
    ),
    (
        "edge sources",
        """query ($id: ID!) { claim(id: $id) { outgoing { edges { node {
        sourceProvenance { title } } } } } }""",
        {"id": "claim"},
    ),
    (
        "lineage confidence under both models",
        """query ($a: ID!, $b: ID!) { new: claim(id: $a) { ...L } old: claim(id: $b) { ...L }
        }
        fragment L on Claim {
          lineageConfidence { __typename confidence { model reviewCount selfReviewCount
            endorsementCount disputeCount meanEndorsementConfidence endorsementWeight
            disputeWeight epistemicStatus }
            reviews { __typename version review { id verdict confidence reviewer { name }
              claim { content } } } }
          simple: lineageConfidence(model: SIMPLE) { confidence { model
            meanEndorsementConfidence endorsementWeight epistemicStatus } } }""",
        {"a": "revised", "b": "first_version"},
    ),
    (
        "similar claims",
        """{ claims(filter: {namespace: "wide.*"}, first: 50) { edges { node { content
        similar { __typename similarity claim { content similar(first: 1) { similarity } } }
        two: similar(first: 2) { claim { content } } none: similar(first: 0) { similarity }
        } } } }""",
        {},
    ),
    ("too many similar", "{ claims { edges { node { similar(first: 51) { similarity } } } } }", {}),
    (
        "claims at risk, with their paths",
        """{ claims(filter: {namespace: "wide.*", includeRetracted: true}, first: 50) { edges {
        node { content atRisk { __typename isAtRisk retractedAncestors { __typename depth
          retracted { content status atRisk { isAtRisk } } path { content isLatest } } }
          alone: atRisk { isAtRisk } paths: atRisk { retractedAncestors { depth } } } } } }""",
        {},
    ),
    (
        "an unreviewed lineage",
        """query ($id: ID!) { claim(id: $id) { lineageConfidence { confidence {
        reviewCount meanEndorsementConfidence endorsementWeight epistemicStatus }
        reviews { version } } } }""",
        {"id": "draft"},
    ),
    (
        "reading positions, identifiers and owners",
        """query ($s: ID!) { claims(filter: {namespace: "wide.*"}, first: 50) { edges { node {
        provenance { position { __typename sectionIndex paragraphIndex sentenceIndex }
          source { identifiers } extractedBy { ownedById } } } } }
        source(id: $s) { identifiers } }""",
        {"s": "paper"},
    ),
    (
        "agents, sources and bundles pages",
        """query ($bot: ID!) {
        agents(first: 3) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor
          endCursor } edges { cursor node { id name agentType ownedById createdAt } } }
        pipelines: agents(agentType: PIPELINE) { totalCount edges { node { name } } }
        sources(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { cursor
          node { id title identifiers submittedBy { name } } } }
        papers: sources(sourceType: PAPER, externalRef: "https://doi.org/10.1000/WIDE") {
          totalCount edges { node { title identifiers } } }
        bundles(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { cursor
          node { id status submittedAt submittedBy { name } source { title }
                 artifacts { description claims { content } } } } }
        mine: bundles(submittedBy: $bot, status: ACCEPTED) { totalCount
          edges { node { id } } }
        none: bundles(idempotencyKey: "") { totalCount } }""",
        {"bot": "bot"},
    ),
    (
        "a bad submitter",
        '{ bundles(submittedBy: "nope") { totalCount } }',
        {},
    ),
    (
        "claims by ids, in order, unknown and repeated ones included",
        """query ($a: ID!, $b: ID!, $c: ID!) {
        claimsByIds(ids: [$a, "00000000-0000-0000-0000-000000000000", $b, $a, $c]) {
          __typename id content createdBy { name } atRisk { isAtRisk } }
        none: claimsByIds(ids: []) { id } }""",
        {"a": "wide", "b": "claim", "c": "draft"},
    ),
    ("bad ids", '{ claimsByIds(ids: ["wide", "nope"]) { id } }', {}),
    ("too large a page", "{ claims(first: 500) { totalCount } }", {}),
    ("a bad namespace", '{ claims(filter: {namespace: "Not Valid"}) { totalCount } }', {}),
]


REFUSED = {
    "too large a page",
    "a bad namespace",
    "a bad submitter",
    "bad ids",
    "too many similar",
}


def _compare(
    planned_client: httpx.Client,
    executor_client: httpx.Client,
    query: str,
    variables: dict[str, Any],
    *,
    by_plan: bool = False,
) -> dict[str, Any]:
    """The answer of both servers, which must be equal; `by_plan`: the planner's server
    answered with its statement, not by falling back to the executor."""
    payload = {"query": query, "variables": variables}
    planned = planned_client.post("/graphql", json=payload)
    executed = executor_client.post("/graphql", json=payload)
    assert planned.status_code == executed.status_code
    body: dict[str, Any] = _comparable(planned.json())
    expected = _comparable(executed.json())
    assert body == expected, _difference(body, expected)
    if by_plan and not _over_the_cost_limit(body):
        assert _answered_by_plan(planned.text), planned.text
    return body


def _over_the_cost_limit(body: dict[str, Any]) -> bool:
    """A query refused by its cost, before any plan or resolver runs."""
    return any(e["extensions"]["code"] == "LIMIT_EXCEEDED" for e in body.get("errors") or ())


def _answered_by_plan(text: str) -> bool:
    """Whether a response body is a plan's: PostgreSQL's own JSON spacing (`"key" : `),
    which the executor's encoder never writes."""
    return '" : ' in text


def _difference(got: object, expected: object, path: str = "") -> str:
    """Where two JSON values first differ, for the failure message."""
    if isinstance(got, dict) and isinstance(expected, dict):
        if list(got) != list(expected):
            return f"{path}: keys {list(got)} != {list(expected)}"
        for key in got:
            if got[key] != expected[key]:
                return _difference(got[key], expected[key], f"{path}.{key}")
    if isinstance(got, list) and isinstance(expected, list) and len(got) == len(expected):
        for i, (a, b) in enumerate(zip(got, expected, strict=True)):
            if a != b:
                return _difference(a, b, f"{path}[{i}]")
    return f"{path}: {got!r} != {expected!r}"


@pytest.mark.parametrize(
    ("name", "query", "variables"),
    QUERIES + PLANNER_QUERIES,
    ids=[q[0] for q in QUERIES + PLANNER_QUERIES],
)
def test_planned_and_executed_reads_answer_alike(
    client: httpx.Client,
    executor_client: httpx.Client,
    wide_graph: dict[str, str],
    name: str,
    query: str,
    variables: dict[str, Any],
) -> None:
    # The planner's own queries are answered by their plans, but for those whose
    # arguments the resolvers refuse (the executor reports those).
    by_plan = name in {q[0] for q in PLANNER_QUERIES} - REFUSED
    for _ in range(2):  # the second run uses the statement prepared by the first
        variables = _variables(variables, wide_graph)
        _compare(client, executor_client, query, variables, by_plan=by_plan)


# Every condition of ClaimFilter the executor has beyond the plain columns, each answered
# by the plan, with the claims of `wide_graph` it must find (None: only compared).
FILTER_SHAPES: list[tuple[str, dict[str, Any], set[str] | None]] = [
    ("at risk", {"atRisk": True}, {"wide 3", "wide 4", "wide 5"}),
    (
        "not at risk",
        {"atRisk": False, "namespace": "wide.*"},
        {"wide 0", "wide 1", "wide 2", "wide formal"},
    ),
    ("epistemic statuses", {"epistemicStatuses": ["ENDORSED", "DISPUTED"]}, None),
    ("formally verified", {"epistemicStatuses": ["FORMALLY_VERIFIED"]}, {"wide formal"}),
    ("under review", {"epistemicStatuses": ["UNDER_REVIEW"], "namespace": "wide.*"}, {"wide 3"}),
    ("no epistemic status", {"epistemicStatuses": [], "namespace": "wide.inner"}, None),
    ("min confidence", {"minConfidence": 0.75, "namespace": "wide.*"}, {"wide 0", "wide 1"}),
    ("min confidence 0", {"minConfidence": 0, "namespace": "wide.*"}, None),
    (
        "or",
        {"or": [{"epistemicStatuses": ["FORMALLY_VERIFIED"]}, {"attrs": {"k": 1}}]},
        {"wide formal", "wide 1"},
    ),
    ("or with an empty branch", {"or": [{}, {"attrs": {"k": 1}}], "namespace": "wide"}, None),
    (
        "not",
        {"namespace": "wide.*", "not": {"or": [{"atRisk": True}, {"namespace": "wide.inner"}]}},
        {"wide 0", "wide 2"},
    ),
    (
        "not over a null column",
        {"namespace": "wide.*", "not": {"createdBy": "00000000-0000-0000-0000-000000000001"}},
        None,
    ),
    (
        "nested three deep",
        {"or": [{"not": {"or": [{"minConfidence": 0.5}, {"atRisk": False}]}}]},
        None,
    ),
    (
        "top-level scope only",
        {"namespace": "wide", "or": [{"latestOnly": False, "includeRetracted": True}]},
        None,
    ),
    (
        "retracted asked for",
        {"includeRetracted": True, "or": [{"atRisk": True}, {"statuses": ["RETRACTED"]}]},
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "filter", "expected"), FILTER_SHAPES, ids=[f[0] for f in FILTER_SHAPES]
)
def test_every_claim_filter_is_answered_by_the_plan(
    client: httpx.Client,
    executor_client: httpx.Client,
    wide_graph: dict[str, str],
    name: str,
    filter: dict[str, Any],
    expected: set[str] | None,
) -> None:
    query = """query ($f: ClaimFilter) { claims(filter: $f, first: 200) { totalCount
    edges { node { content } } } }"""
    body = _compare(client, executor_client, query, {"f": filter}, by_plan=True)
    found = {edge["node"]["content"] for edge in body["data"]["claims"]["edges"]}
    assert body["data"]["claims"]["totalCount"] == len(found)
    if expected is not None:
        assert found == expected


def test_a_claims_retracted_premises_are_planned_with_their_paths(
    client: httpx.Client, executor_client: httpx.Client, wide_graph: dict[str, str]
) -> None:
    query = """{ claims(filter: {namespace: "wide.*"}, first: 50, orderBy: CREATED_AT_ASC) {
    edges { node { content atRisk { isAtRisk retractedAncestors { depth
      retracted { content } path { content } } } } } } }"""
    body = _compare(client, executor_client, query, {}, by_plan=True)
    risks = {
        edge["node"]["content"]: edge["node"]["atRisk"] for edge in body["data"]["claims"]["edges"]
    }
    assert not risks["wide 0"]["isAtRisk"] and risks["wide 0"]["retractedAncestors"] == []
    premise = {"content": "wide premise"}
    assert risks["wide 4"] == {
        "isAtRisk": True,
        "retractedAncestors": [
            {
                "depth": 2,
                "retracted": premise,
                "path": [{"content": "wide 4"}, {"content": "wide 5"}, premise],
            }
        ],
    }
    assert risks["wide 3"]["retractedAncestors"][0]["path"] == [{"content": "wide 3"}, premise]


@pytest.mark.parametrize(
    "filter",
    [
        {"or": []},
        {"or": [{"not": {"or": [{"not": {}}]}}]},
        {"minConfidence": 1.5},
        {"not": {"createdBy": "not a uuid"}},
        {"or": [{"namespace": "Not Valid"}]},
    ],
)
def test_a_filter_the_resolvers_refuse_is_refused_alike(
    client: httpx.Client, executor_client: httpx.Client, filter: dict[str, Any]
) -> None:
    query = "query ($f: ClaimFilter) { claims(filter: $f) { totalCount } }"
    body = _compare(client, executor_client, query, {"f": filter})
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


def test_pages_continue_from_either_paths_cursors(
    client: httpx.Client, executor_client: httpx.Client, wide_graph: dict[str, str]
) -> None:
    query = """query ($after: String) { claims(first: 2, after: $after, orderBy: CREATED_AT_ASC,
    filter: {latestOnly: false, includeRetracted: true}) { pageInfo { hasNextPage endCursor }
    edges { cursor node { id } } } }"""
    after = None
    seen: list[str] = []
    while True:
        body = _compare(client, executor_client, query, {"after": after})
        page = body["data"]["claims"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) >= 10


@pytest.mark.parametrize("name", ["agents", "sources", "bundles"])
def test_root_pages_continue_from_either_paths_cursors(
    client: httpx.Client, executor_client: httpx.Client, wide_graph: dict[str, str], name: str
) -> None:
    query = f"""query ($after: String) {{ {name}(first: 2, after: $after) {{ totalCount
    pageInfo {{ hasNextPage hasPreviousPage endCursor }} edges {{ cursor node {{ id }} }} }} }}"""
    after = None
    seen: list[str] = []
    for clients in ((client, executor_client), (executor_client, client)) * 10:
        body = _compare(*clients, query, {"after": after}, by_plan=clients[0] is client)
        page = body["data"][name]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"] >= 2


def _statement_runs(
    conn: psycopg.Connection[Any], reads: PlannedReads, variables: dict[str, Any]
) -> bool:
    """Whether the request binds (its arguments are ones the resolvers accept); when it
    does, the planned statement runs (the server would otherwise fall back unseen)."""
    try:
        params = reads.bind(SCHEMA, variables)
    except NotCovered:
        return False
    conn.execute(reads.statement(params), reads.values(params, PUBLIC))
    return True


# ---------------------------------------------------------------------------------------
# Generated documents over the covered part of the schema.
# ---------------------------------------------------------------------------------------

CLAIM_SCALARS = [
    "id",
    "lineageId",
    "version",
    "isLatest",
    "claimType",
    "content",
    "formalContent",
    "status",
    "namespaceId",
    "createdById",
    "supersedesId",
    "attrs",
    "createdAt",
    "__typename",
]
AGENT_SCALARS = [
    "id",
    "name",
    "agentType",
    "externalId",
    "trustScore",
    "attrs",
    "createdAt",
    "ownedById",
]
EDGE_SCALARS = [
    "id",
    "sourceId",
    "targetId",
    "edgeType",
    "strength",
    "createdById",
    "sourceProvenanceId",
    "attrs",
    "createdAt",
    "label",
]
CONFIDENCE_SCALARS = [
    "model",
    "reviewCount",
    "selfReviewCount",
    "endorsementCount",
    "disputeCount",
    "meanEndorsementConfidence",
    "endorsementWeight",
    "disputeWeight",
    "epistemicStatus",
]
PROVENANCE_FIELDS = [
    "id",
    "confidence",
    "locationInSource",
    "createdAt",
    "source { title sourceType identifiers submittedBy { name ownedById } }",
    "extractedBy { name ownedById }",
    "claim { id }",
    "position { __typename sectionIndex paragraphIndex sentenceIndex }",
]
REVIEW_FIELDS = ["id", "verdict", "confidence", "updatedAt", "reviewer { name }", "claim { id }"]
ARTIFACT_FIELDS = ["id", "artifactType", "description", "structuredData", "claims { id }"]
EDGE_TYPES = ["supports", "contradicts", "depends_on", "related_to"]


def _object(draw: st.DrawFn, choices: list[str]) -> str:
    picked = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=5, unique=True))
    return "{ " + " ".join(_aliased(draw, f) for f in picked) + " }"


def _aliased(draw: st.DrawFn, field: str) -> str:
    return f"a_{field.split('(')[0].split(' ')[0]}: {field}" if draw(st.booleans()) else field


def _page_args(draw: st.DrawFn) -> str:
    return f"(first: {draw(st.integers(0, 3))})" if draw(st.booleans()) else ""


def _edge_args(draw: st.DrawFn) -> str:
    args = []
    if draw(st.booleans()):
        args.append(f"first: {draw(st.integers(0, 3))}")
    if draw(st.booleans()):
        types = draw(st.lists(st.sampled_from(EDGE_TYPES), max_size=2))
        args.append("edgeTypes: [" + ", ".join(f'"{t}"' for t in types) + "]")
    return f"({', '.join(args)})" if args else ""


@st.composite
def claim_selection(draw: st.DrawFn, depth: int) -> str:
    fields = list(CLAIM_SCALARS)
    fields.append("createdBy " + _object(draw, AGENT_SCALARS))
    model = draw(st.sampled_from(["", "(model: SIMPLE)", "(model: TRUST_WEIGHTED)"]))
    fields.append(f"confidence{model} " + _object(draw, CONFIDENCE_SCALARS))
    model = draw(st.sampled_from(["", "(model: SIMPLE)", "(model: TRUST_WEIGHTED)"]))
    lineage = [
        "__typename",
        "confidence " + _object(draw, CONFIDENCE_SCALARS),
        "reviews { version review " + _object(draw, REVIEW_FIELDS) + " }",
    ]
    fields.append(f"lineageConfidence{model} " + _object(draw, lineage))
    size = draw(st.sampled_from(["", "(first: 0)", "(first: 2)", "(first: 51)"]))
    similar = ["__typename", "similarity", "claim { id content status }"]
    fields.append(f"similar{size} " + _object(draw, similar))
    ancestor = ["__typename", "depth", "retracted { id status }", "path { id content }"]
    risk = ["__typename", "isAtRisk", "retractedAncestors " + _object(draw, ancestor)]
    fields.append("atRisk " + _object(draw, risk))
    fields.append("namespace { path name parent { name } }")
    fields.append("provenance " + _object(draw, PROVENANCE_FIELDS))
    fields.append("artifacts " + _object(draw, ARTIFACT_FIELDS))
    review = _object(draw, REVIEW_FIELDS)
    fields.append(f"reviews{_page_args(draw)} {{ totalCount edges {{ cursor node {review} }} }}")
    if depth > 0:
        for direction, end in (("outgoing", "target"), ("incoming", "source")):
            node = [*EDGE_SCALARS, f"{end} " + draw(claim_selection(depth - 1))]
            parts = draw(
                st.lists(
                    st.sampled_from(
                        [
                            "totalCount",
                            "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }",
                            "edges { cursor node " + _object(draw, node) + " }",
                        ]
                    ),
                    min_size=1,
                    max_size=3,
                    unique=True,
                )
            )
            fields.append(f"{direction}{_edge_args(draw)} {{ {' '.join(parts)} }}")
        fields.append("versions " + draw(claim_selection(depth - 1)))
        fields.append("supersedes " + draw(claim_selection(depth - 1)))
    return _object(draw, fields)


EPISTEMIC_STATUSES = ["UNVERIFIED", "DISPUTED", "FORMALLY_VERIFIED", "ENDORSED", "UNDER_REVIEW"]


def claim_filters(depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """ClaimFilter values, `or` and `not` nested one level deeper than the resolvers
    accept (and `or` empty now and then), so refused filters are generated too."""
    optional: dict[str, st.SearchStrategy[Any]] = {
        "namespace": st.sampled_from(["wide", "wide.*", "wide.inner", "nowhere", "Bad!"]),
        "claimTypes": st.lists(st.sampled_from(["ASSERTION", "THEOREM"]), max_size=2),
        "statuses": st.lists(st.sampled_from(["ACTIVE", "DRAFT", "RETRACTED"]), max_size=2),
        "latestOnly": st.booleans(),
        "includeRetracted": st.booleans(),
        "attrs": st.sampled_from([{}, {"k": 1}, {"i": 2}]),
        "createdAfter": st.sampled_from(["2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"]),
        "atRisk": st.booleans(),
        "epistemicStatuses": st.lists(st.sampled_from(EPISTEMIC_STATUSES), max_size=2),
        "minConfidence": st.sampled_from([0, 0.5, 0.75, 0.8, 1, 1.5]),
    }
    if depth <= MAX_FILTER_DEPTH:
        optional["or"] = st.lists(claim_filters(depth + 1), max_size=2)
        optional["not"] = claim_filters(depth + 1)
    return st.fixed_dictionaries({}, optional=optional)


@st.composite
def claims_documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    node = draw(claim_selection(2))
    variables = {
        "f": draw(st.none() | claim_filters()),
        "n": draw(st.none() | st.integers(-1, 4)),
        "o": draw(st.sampled_from(["CREATED_AT_ASC", "CREATED_AT_DESC"])),
    }
    if draw(st.integers(0, 4)) == 0:
        return draw(root_page_documents())
    if draw(st.booleans()):
        document = f"query ($id: ID!) {{ claim(id: $id) {node} }}"
        ids = ["claim", "first", "wide", "draft", "revised"]
        return document, {"id": draw(st.sampled_from(ids))}
    parts = ["totalCount", "pageInfo { hasNextPage endCursor }", f"edges {{ cursor node {node} }}"]
    picked = draw(st.lists(st.sampled_from(parts), min_size=1, max_size=3, unique=True))
    document = (
        "query ($f: ClaimFilter, $n: Int, $o: ClaimOrder!) "
        f"{{ claims(filter: $f, first: $n, orderBy: $o) {{ {' '.join(picked)} }} }}"
    )
    return document, variables


ROOT_PAGES = {
    "agents": (
        AGENT_SCALARS,
        {"agentType": st.sampled_from(["HUMAN", "AI", "PIPELINE"])},
    ),
    "sources": (
        ["id", "title", "sourceType", "identifiers", "createdAt", "submittedBy { name }"],
        {
            "sourceType": st.sampled_from(["PAPER", "DATASET"]),
            "externalRef": st.sampled_from(["10.1000/wide", "arxiv:2101.00001", "nowhere"]),
        },
    ),
    "bundles": (
        [
            "id",
            "status",
            "claimCount",
            "submittedAt",
            "submittedBy { name }",
            "source { title identifiers }",
            "artifacts { description claims { content } }",
        ],
        {
            "status": st.sampled_from(["ACCEPTED", "REJECTED"]),
            "idempotencyKey": st.sampled_from(["", "unknown"]),
        },
    ),
}


@st.composite
def root_page_documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(sorted(ROOT_PAGES)))
    fields, conditions = ROOT_PAGES[name]
    args = draw(st.fixed_dictionaries({}, optional=conditions))
    args["first"] = draw(st.none() | st.integers(-1, 3))
    declared = {"agentType": "AgentType", "sourceType": "SourceType", "status": "BundleStatus"}
    variables = ", ".join(f"${k}: {declared.get(k, 'String')}" for k in args if k != "first")
    used = ", ".join(f"{k}: ${k}" for k in args if k != "first")
    parts = [
        "totalCount",
        "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }",
        "edges { cursor node " + _object(draw, fields) + " }",
    ]
    picked = draw(st.lists(st.sampled_from(parts), min_size=1, max_size=3, unique=True))
    header = f"query ($first: Int{', ' + variables if variables else ''})"
    arguments = f"(first: $first{', ' + used if used else ''})"
    return f"{header} {{ {name}{arguments} {{ {' '.join(picked)} }} }}", args


def test_generated_reads_answer_alike(
    client: httpx.Client,
    executor_client: httpx.Client,
    wide_graph: dict[str, str],
    database_url: str,
) -> None:
    planned = 0
    conn = psycopg.connect(database_url, autocommit=True)

    @settings(
        max_examples=GENERATED,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=claims_documents())
    def run(case: tuple[str, dict[str, Any]]) -> None:
        nonlocal planned
        document, variables = case
        variables = _variables(variables, wide_graph)
        reads = plan_reads(SCHEMA, parse(document), None)
        by_plan = False
        if reads is not None:
            planned += 1
            by_plan = _statement_runs(conn, reads, variables)
        _compare(client, executor_client, document, variables, by_plan=by_plan)

    with conn:
        run()
    # Every generated document is one the planner covers (its requests with arguments a
    # resolver refuses still go to the executor).
    assert planned == GENERATED


def test_a_query_over_the_cost_cap_is_refused_alike(
    client: httpx.Client, executor_client: httpx.Client
) -> None:
    query = """{ claims(first: 200) { edges { node { outgoing(first: 200) { edges { node {
    target { id } } } } } } } }"""
    body = _compare(client, executor_client, query, {})
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["LIMIT_EXCEEDED"]


def test_without_public_reads_the_planner_answers_only_keys_that_may_read(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, wide_graph: dict[str, str]
) -> None:
    query = {"query": "query ($id: ID!) { claim(id: $id) { content } }"}
    query["variables"] = {"id": wide_graph["wide"]}  # type: ignore[assignment]
    reader = create_api_key(database_url, ["claims:read"])
    writer = create_api_key(database_url, ["bundles:write"])
    with ExitStack() as stack:
        bodies = []
        for planner_on, folder in ((True, "closed-planned"), (False, "closed-executed")):
            settings = make_settings(
                database_url,
                tmp_path_factory.mktemp(folder),
                graphql_read_planner=planner_on,
                public_reads=False,
            )
            live = stack.enter_context(LiveServer.run(settings))
            http = stack.enter_context(httpx.Client(base_url=live.url, timeout=30))
            bodies.append(
                [
                    _comparable(http.post("/graphql", json=query, headers=headers).json())
                    for headers in ({}, writer.headers, reader.headers)
                ]
            )
    assert bodies[0] == bodies[1]
    anonymous, without_scope, with_scope = bodies[0]
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert without_scope["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert with_scope == {"data": {"claim": {"content": "wide 0"}}}


# ---------------------------------------------------------------------------------------
# Drafts: the plans apply the resolvers' visibility rule, viewer by viewer.
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def drafts(database_url: str, make: Factory) -> dict[str, Any]:
    """A draft by an author with a key, reached every way a plan reads a claim: by id,
    in a list, at either end of an edge, as a newer version, in an artifact and in a
    review's and a provenance row's `claim`."""
    author = create_api_key(database_url, ["claims:write", "claims:read"])
    stranger = create_api_key(database_url, ["claims:read"])
    admin = create_api_key(database_url, ["admin"])
    marker = {"drafts_case": str(author.agent_id)}
    public = make.claim(
        "public premise", created_by=author.agent_id, attrs=marker, embedding=_vector(20.0)
    )
    draft = make.claim(
        "secret draft",
        status="draft",
        created_by=author.agent_id,
        attrs=marker,
        embedding=_vector(21.0),
    )
    lineage = make.claim("shared lineage v1", attrs=marker)
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT lineage_id FROM claims WHERE id = %s", [lineage]).fetchone()
    assert row is not None
    newer = make.claim(
        "secret v2",
        status="draft",
        lineage_id=row[0],
        version=2,
        supersedes=lineage,
        created_by=author.agent_id,
        attrs=marker,
    )
    make.edge(public, draft, "supports")
    make.edge(draft, public, "depends_on")
    make.edge(public, lineage, "related_to")
    paper = make.source("drafts paper")
    bundle = make.bundle(author.agent_id, source_id=paper)
    make.artifact([public, draft], bundle_id=bundle, description="drafts figure")
    make.provenance(draft, paper, extracted_by=author.agent_id)
    make.review(draft, author.agent_id, "endorse", 0.8)
    make.review(newer, stranger.agent_id, "endorse", 0.7)
    # A public claim at risk only through the draft: the walk passes drafts it may see.
    premise = make.claim("drafts premise", created_by=author.agent_id, attrs=marker)
    make.set_status(premise, "retracted")
    make.edge(draft, premise, "depends_on")
    dependent = make.claim("drafts dependent", attrs=marker)
    make.edge(dependent, draft, "depends_on")
    return {
        "keys": {"anonymous": None, "author": author, "stranger": stranger, "admin": admin},
        "ids": {
            "public": str(public),
            "draft": str(draft),
            "lineage": str(lineage),
            "newer": str(newer),
            "bundle": str(bundle),
            "dependent": str(dependent),
        },
        "marker": marker,
    }


DRAFT_QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "at risk through a draft",
        """query ($f: ClaimFilter) { claims(filter: $f, orderBy: CREATED_AT_ASC) { totalCount
        edges { node { content } } } }""",
        {"f": "marker at risk"},
    ),
    (
        "not at risk, or and not",
        """query ($f: ClaimFilter) { claims(filter: $f, orderBy: CREATED_AT_ASC) { totalCount
        edges { node { content } } } }""",
        {"f": "marker not at risk"},
    ),
    (
        "similar to a draft, and a draft among the similar",
        """query ($a: ID!, $b: ID!) { draft: claim(id: $a) { similar { claim { content } } }
        public: claim(id: $b) { similar(first: 50) { claim { content status } } } }""",
        {"a": "draft", "b": "public"},
    ),
    (
        "claims by ids",
        """query ($a: ID!, $b: ID!, $c: ID!) { claimsByIds(ids: [$a, $b, $c, $b]) { content
        status } }""",
        {"a": "public", "b": "draft", "c": "newer"},
    ),
    (
        "at risk, with paths through a draft",
        """query ($a: ID!, $b: ID!) { dependent: claim(id: $a) { ...R } draft: claim(id: $b) {
        ...R } } fragment R on Claim { atRisk { isAtRisk retractedAncestors { depth
        retracted { content } path { content } } } }""",
        {"a": "dependent", "b": "draft"},
    ),
    (
        "a lineage with a draft version",
        """query ($id: ID!) { claim(id: $id) { lineageConfidence { confidence { reviewCount
        epistemicStatus } reviews { version review { verdict claim { content } } } } } }""",
        {"id": "lineage"},
    ),
    ("by id", "query ($id: ID!) { claim(id: $id) { content status } }", {"id": "draft"}),
    (
        "edges both ways",
        """query ($id: ID!) { claim(id: $id) { content
        outgoing { totalCount edges { node { edgeType target { content status } } } }
        incoming { totalCount pageInfo { endCursor }
          edges { cursor node { label source { content } } } } } }""",
        {"id": "public"},
    ),
    (
        "a list with drafts asked for",
        """query ($f: ClaimFilter) { claims(filter: $f, orderBy: CREATED_AT_ASC) { totalCount
        pageInfo { hasNextPage endCursor } edges { node { content status isLatest
          versions { content } } } } }""",
        {"f": "marker"},
    ),
    (
        "versions and supersedes",
        """query ($a: ID!, $b: ID!) { old: claim(id: $a) { isLatest versions { content } }
        new: claim(id: $b) { content supersedes { content } } }""",
        {"a": "lineage", "b": "newer"},
    ),
    (
        "artifacts, reviews and provenance",
        """query ($b: ID!, $d: ID!) { bundle(id: $b) { artifacts { claims { content } } }
        claim(id: $d) { reviews { totalCount edges { node { claim { content } } } }
          provenance { claim { content } } } }""",
        {"b": "bundle", "d": "draft"},
    ),
]


def test_drafts_are_seen_alike_by_every_viewer(
    client: httpx.Client, executor_client: httpx.Client, drafts: dict[str, Any]
) -> None:
    seen: dict[str, str] = {}
    at_risk: dict[str, set[str]] = {}
    for name, query, variables in DRAFT_QUERIES:
        filters = {
            "marker": {"attrs": drafts["marker"], "statuses": ["ACTIVE", "DRAFT"]},
            "marker at risk": {"attrs": drafts["marker"], "atRisk": True},
            "marker not at risk": {
                "attrs": drafts["marker"],
                "not": {"atRisk": True},
                "or": [{"statuses": ["DRAFT"]}, {"epistemicStatuses": ["UNVERIFIED"]}],
            },
        }
        bound = {k: filters.get(v) or drafts["ids"][v] for k, v in variables.items()}
        assert plan_reads(SCHEMA, parse(query), None) is not None, name
        for viewer, key in drafts["keys"].items():
            headers = key.headers if key is not None else {}
            payload = {"query": query, "variables": bound}
            planned = client.post("/graphql", json=payload, headers=headers)
            executed = executor_client.post("/graphql", json=payload, headers=headers)
            body, expected = _comparable(planned.json()), _comparable(executed.json())
            assert body == expected, (name, viewer, _difference(body, expected))
            # Answered by the plan, not by a fallback: PostgreSQL's own JSON spacing.
            assert '" : ' in planned.text, (name, viewer)
            seen[viewer] = seen.get(viewer, "") + planned.text
            if name == "at risk through a draft":
                edges = body["data"]["claims"]["edges"]
                at_risk[viewer] = {edge["node"]["content"] for edge in edges}
    # The rule itself, not only agreement: a draft is its author's and admins' alone.
    for viewer in ("anonymous", "stranger"):
        assert "secret" not in seen[viewer], viewer
    for viewer in ("author", "admin"):
        assert "secret draft" in seen[viewer] and "secret v2" in seen[viewer], viewer
    # A walk to a retracted claim passes only drafts the caller may see.
    assert at_risk["anonymous"] == at_risk["stranger"] == set()
    assert at_risk["author"] == at_risk["admin"] == {"secret draft", "drafts dependent"}
