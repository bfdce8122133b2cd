"""The read planner answers `traverse` with one statement (the walk its first step, the
reached claims and edges built in the same statement), and its answer is the executor's:
cycles, diamonds, symmetric edges, truncation, each direction, minStrength,
includeRetracted and nested claim and edge fields go to a server with the planner and to
one without it, and the JSON must be equal; drafts are seen alike by four kinds of
caller, and every request the resolver refuses is the executor's, with its codes."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import pytest
from graphql import parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phiacta.graphql.engine.planner import NotCovered, plan_reads
from phiacta.store.read_plan import Traverse
from tests.factories import Factory
from tests.test_compiled_http import _comparable, make
from tests.test_read_planner import (
    EDGE_SCALARS,
    SCHEMA,
    _compare,
    _difference,
    _object,
    claim_selection,
    drafts,
    executor_client,
)

__all__ = ["drafts", "executor_client", "make"]

# Generated documents compared (PHIACTA_PLANNER_EXAMPLES raises it).
GENERATED = int(os.environ.get("PHIACTA_PLANNER_EXAMPLES", "50"))

TRAVERSE = """
query ($start: ID!, $direction: TraversalDirection, $depth: Int, $limit: Int,
       $minStrength: Float, $retracted: Boolean) {
  traverse(start: $start, direction: $direction, maxDepth: $depth, limit: $limit,
           minStrength: $minStrength, includeRetracted: $retracted) {
    __typename
    truncated
    start { id content status }
    nodes { __typename depth reachedFrom claim { id content status }
      via { id edgeType strength label source { content } target { content } } }
    edges { id edgeType sourceId targetId }
  }
}
"""

# Nested claim and edge fields of every kind the planner plans, in fragments and aliases.
NESTED = """
query ($start: ID!) {
  walk: traverse(start: $start, direction: BOTH, maxDepth: 4) {
    done: truncated
    start { ...C }
    nodes { d: depth reachedFrom claim { ...C } via { ...E } }
    edges { ...E }
  }
}
fragment C on Claim {
  __typename id content claimType status version isLatest createdAt attrs
  createdBy { name agentType }
  namespace { path }
  confidence { reviewCount epistemicStatus }
  outgoing(first: 2) { totalCount edges { cursor node { edgeType target { content } } } }
  incoming { totalCount edges { node { label source { content } } } }
}
fragment E on Edge {
  __typename id sourceId targetId edgeType strength label createdAt attrs
  createdBy { name } type { name isSymmetric inverseName category }
}
"""

BARE = """
query ($start: ID!, $types: [String!], $depth: Int, $limit: Int, $minStrength: Float) {
  traverse(start: $start, edgeTypes: $types, maxDepth: $depth, limit: $limit,
           minStrength: $minStrength) { truncated }
}
"""


@pytest.fixture(scope="module")
def walks(make: Factory) -> dict[str, str]:
    """A cycle, a diamond with edges of several strengths, symmetric edges, a retracted
    claim, a hub with many leaves, reviews and a namespace."""
    bot = make.agent("walker", "ai")
    ns = make.namespace(f"walk{uuid.uuid4().hex[:8]}")
    c = {
        name: make.claim(f"walk {name}", namespace_id=ns, created_by=bot, attrs={"n": name})
        for name in ("a", "b", "c", "d", "e", "f", "g", "h", "r", "s", "hub")
    }
    # A cycle a -> b -> c -> a, with a diamond below c: c -> d, c -> e, d -> f, e -> f.
    make.edge(c["a"], c["b"], "supports", strength=0.9)
    make.edge(c["b"], c["c"], "supports", strength=0.8)
    make.edge(c["c"], c["a"], "depends_on", strength=0.4)
    make.edge(c["c"], c["d"], "supports", strength=0.7)
    make.edge(c["c"], c["e"], "supports", strength=0.2)
    make.edge(c["d"], c["f"], "supports", strength=0.3)
    make.edge(c["e"], c["f"], "corroborates", strength=0.95)
    # Symmetric: g points at a, and a reaches g anyway; h points at g.
    make.edge(c["g"], c["a"], "contradicts", strength=0.6)
    make.edge(c["h"], c["g"], "related_to", strength=0.5)
    # A retracted claim after b, and s after it.
    make.set_status(c["r"], "retracted")
    make.edge(c["b"], c["r"], "supports")
    make.edge(c["r"], c["s"], "supports")
    # A hub of 12 leaves, for truncation.
    for i in range(12):
        make.edge(c["hub"], make.claim(f"leaf {i:02}", created_by=bot), "supports", strength=0.5)
    make.edge(c["f"], c["hub"], "supports")
    reviewer = make.agent("walk-reviewer", trust_score=0.5)
    make.review(c["b"], reviewer, "endorse", 0.8)
    make.review(c["d"], reviewer, "dispute", 0.6)
    return {name: str(claim) for name, claim in c.items()}


CASES: list[tuple[str, dict[str, Any]]] = [
    ("defaults", {"start": "a"}),
    ("outgoing deep", {"start": "a", "depth": 10, "limit": 1000}),
    ("incoming", {"start": "f", "direction": "INCOMING", "depth": 5}),
    ("both", {"start": "c", "direction": "BOTH", "depth": 10, "limit": 1000}),
    ("outgoing from the cycle's end", {"start": "c", "direction": "OUTGOING", "depth": 2}),
    ("symmetric, outgoing", {"start": "a", "depth": 1}),
    ("symmetric, incoming", {"start": "g", "direction": "INCOMING", "depth": 3}),
    ("truncated", {"start": "hub", "limit": 5}),
    ("truncated exactly at the limit", {"start": "hub", "limit": 12}),
    ("truncated deep", {"start": "a", "depth": 10, "limit": 7}),
    ("limit 1", {"start": "c", "direction": "BOTH", "limit": 1}),
    ("min strength", {"start": "a", "depth": 10, "minStrength": 0.5}),
    ("min strength 1", {"start": "a", "minStrength": 1.0}),
    ("retracted included", {"start": "a", "depth": 4, "retracted": True}),
    ("retracted excluded", {"start": "a", "depth": 4, "retracted": False}),
    ("retracted start", {"start": "r", "direction": "BOTH"}),
    ("nothing reached", {"start": "s", "direction": "OUTGOING"}),
]


@pytest.mark.parametrize(("name", "variables"), CASES, ids=[c[0] for c in CASES])
def test_traversals_are_planned_and_answered_alike(
    client: httpx.Client,
    executor_client: httpx.Client,
    walks: dict[str, str],
    name: str,
    variables: dict[str, Any],
) -> None:
    bound = variables | {"start": walks[variables["start"]]}
    body = _compare(client, executor_client, TRAVERSE, bound, by_plan=True)
    assert "errors" not in body, body


def test_the_walk_itself_is_the_resolvers(
    client: httpx.Client, executor_client: httpx.Client, walks: dict[str, str]
) -> None:
    """Not only agreement: cycles and diamonds reach each claim once, at its shortest
    depth, by its strongest edge; symmetric edges both ways; a limit truncates."""
    body = _compare(
        client, executor_client, TRAVERSE, {"start": walks["a"], "depth": 10}, by_plan=True
    )
    traverse = body["data"]["traverse"]
    contents = [node["claim"]["content"] for node in traverse["nodes"]]
    assert len(contents) == len(set(contents))
    depths = {node["claim"]["content"]: node["depth"] for node in traverse["nodes"]}
    assert depths["walk a"] == 0 and depths["walk g"] == 1 and depths["walk f"] == 4
    assert "walk r" not in depths and "walk s" not in depths  # not through a retracted one
    assert depths["walk h"] == 2  # related_to is symmetric too
    f = next(n for n in traverse["nodes"] if n["claim"]["content"] == "walk f")
    assert f["via"]["edgeType"] == "corroborates"  # the stronger of the diamond's two
    assert [e["id"] for e in traverse["edges"]] == [n["via"]["id"] for n in traverse["nodes"][1:]]
    assert traverse["nodes"][0]["via"] is None and traverse["nodes"][0]["reachedFrom"] is None
    hub = _compare(client, executor_client, TRAVERSE, {"start": walks["hub"], "limit": 5})
    assert hub["data"]["traverse"]["truncated"] is True
    assert len(hub["data"]["traverse"]["nodes"]) == 6


def test_nested_claim_and_edge_fields_are_planned(
    client: httpx.Client, executor_client: httpx.Client, walks: dict[str, str]
) -> None:
    for start in ("a", "hub", "g"):
        body = _compare(client, executor_client, NESTED, {"start": walks[start]}, by_plan=True)
        assert "errors" not in body, body


def test_traverse_beside_other_root_fields_is_one_plan(
    client: httpx.Client, executor_client: httpx.Client, walks: dict[str, str]
) -> None:
    query = """query ($a: ID!, $b: ID!) { __typename claim(id: $a) { content }
    one: traverse(start: $a, limit: 2) { truncated nodes { claim { content } } }
    two: traverse(start: $b, direction: INCOMING) { nodes { depth claim { content } } } }"""
    plan = plan_reads(SCHEMA, parse(query), None)
    assert plan is not None
    assert sum(isinstance(f, Traverse) for f in plan.plan.fields) == 2
    _compare(client, executor_client, query, {"a": walks["a"], "b": walks["f"]}, by_plan=True)


REFUSED: list[tuple[str, str, dict[str, Any]]] = [
    ("depth 0", BARE, {"depth": 0}),
    ("depth above the cap", BARE, {"depth": 11}),
    ("limit 0", BARE, {"limit": 0}),
    ("limit above 1000", BARE, {"limit": 1001}),
    ("negative strength", BARE, {"minStrength": -0.1}),
    ("strength above 1", BARE, {"minStrength": 1.5}),
    ("a malformed start", BARE, {"start": "not-a-uuid"}),
    ("an unknown start", TRAVERSE, {"start": "00000000-0000-0000-0000-00000000beef"}),
    ("an unknown edge type", BARE, {"types": ["supports", "nope"]}),
    ("no edge type", BARE, {"types": []}),
    ("several problems", BARE, {"start": "x", "limit": 0, "minStrength": 2.0}),
]


@pytest.mark.parametrize(("name", "query", "variables"), REFUSED, ids=[r[0] for r in REFUSED])
def test_what_the_resolver_refuses_is_the_executors(
    client: httpx.Client,
    executor_client: httpx.Client,
    walks: dict[str, str],
    name: str,
    query: str,
    variables: dict[str, Any],
) -> None:
    bound = {"start": walks["a"]} | variables
    payload = {"query": query, "variables": bound}
    planned = client.post("/graphql", json=payload)
    body = _compare(client, executor_client, query, bound)
    assert body.get("errors"), body
    assert '" : ' not in planned.text


def test_edge_types_are_answered_by_the_executor(
    client: httpx.Client, executor_client: httpx.Client, walks: dict[str, str]
) -> None:
    """Named edge types need the database to be checked: the resolver answers them."""
    query = TRAVERSE.replace("$retracted: Boolean", "$retracted: Boolean, $types: [String!]")
    query = query.replace(
        "includeRetracted: $retracted", "includeRetracted: $retracted, edgeTypes: $types"
    )
    bound = {"start": walks["a"], "types": ["supports"], "depth": 10}
    reads = plan_reads(SCHEMA, parse(query), None)
    assert reads is not None
    with pytest.raises(NotCovered):
        reads.bind(SCHEMA, bound)
    body = _compare(client, executor_client, query, bound)
    assert "errors" not in body
    # Without them, the same document is planned.
    _compare(client, executor_client, query, bound | {"types": None}, by_plan=True)


def test_drafts_are_walked_alike_by_every_viewer(
    client: httpx.Client, executor_client: httpx.Client, drafts: dict[str, Any]
) -> None:
    ids = drafts["ids"]
    seen: dict[str, str] = {}
    for start, direction in (("public", "BOTH"), ("dependent", "OUTGOING"), ("draft", "BOTH")):
        variables = {"start": ids[start], "direction": direction, "depth": 4}
        for viewer, key in drafts["keys"].items():
            headers = key.headers if key is not None else {}
            payload = {"query": TRAVERSE, "variables": variables}
            planned = client.post("/graphql", json=payload, headers=headers)
            executed = executor_client.post("/graphql", json=payload, headers=headers)
            body, expected = _comparable(planned.json()), _comparable(executed.json())
            assert body == expected, (start, viewer, _difference(body, expected))
            hidden = start == "draft" and viewer in ("anonymous", "stranger")
            if hidden:  # NOT_FOUND, the executor's answer
                assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", body
                assert '" : ' not in planned.text
            else:
                assert '" : ' in planned.text, (start, viewer)
            seen[viewer] = seen.get(viewer, "") + planned.text
    for viewer in ("anonymous", "stranger"):
        assert "secret" not in seen[viewer], viewer
    for viewer in ("author", "admin"):
        assert "secret draft" in seen[viewer], viewer


@st.composite
def traverse_documents(draw: st.DrawFn) -> tuple[str, dict[str, Any], bool]:
    """A traverse with generated arguments (some the resolver refuses) and selection;
    whether the plan should answer it (the start known, every argument in range)."""
    edge = [*EDGE_SCALARS, "source { id content }", "target { id status }"]
    node = [
        "__typename",
        "depth",
        "reachedFrom",
        "claim " + draw(claim_selection(1)),
        "via " + _object(draw, edge),
    ]
    parts = [
        "__typename",
        "truncated",
        "start " + draw(claim_selection(0)),
        "nodes " + _object(draw, node),
        "edges " + _object(draw, edge),
    ]
    args = {
        "start": draw(st.sampled_from(["a", "c", "f", "g", "r", "hub", "unknown"])),
        "direction": draw(st.sampled_from(["OUTGOING", "INCOMING", "BOTH"])),
        "depth": draw(st.sampled_from([0, 1, 2, 3, 5, 10, 11])),
        "limit": draw(st.sampled_from([0, 1, 3, 5, 12, 100, 1001])),
        "minStrength": draw(st.sampled_from([-0.5, 0.0, 0.3, 0.5, 0.95, 1.0, 1.5])),
        "retracted": draw(st.booleans()),
    }
    used = {k: v for k, v in args.items() if k == "start" or draw(st.booleans())}
    planned = (
        used["start"] != "unknown"
        and 1 <= used.get("depth", 3) <= 10
        and 1 <= used.get("limit", 100) <= 1000
        and 0 <= used.get("minStrength", 0.0) <= 1
    )
    return TRAVERSE_HEADER + _object(draw, parts) + " }", used, planned


TRAVERSE_HEADER = """query ($start: ID!, $direction: TraversalDirection, $depth: Int, $limit: Int,
       $minStrength: Float, $retracted: Boolean) {
  traverse(start: $start, direction: $direction, maxDepth: $depth, limit: $limit,
           minStrength: $minStrength, includeRetracted: $retracted) """


def test_generated_traversals_answer_alike(
    client: httpx.Client, executor_client: httpx.Client, walks: dict[str, str]
) -> None:
    unknown = "00000000-0000-0000-0000-00000000dead"

    @settings(
        max_examples=GENERATED,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=traverse_documents())
    def run(case: tuple[str, dict[str, Any], bool]) -> None:
        document, variables, planned = case
        bound = variables | {"start": walks.get(variables["start"], unknown)}
        assert plan_reads(SCHEMA, parse(document), None) is not None
        # A nested `similar(first: 51)` is refused by its resolver: the executor's too.
        planned = planned and "(first: 51)" not in document
        body = _compare(client, executor_client, document, bound, by_plan=planned)
        if not planned:
            assert body.get("errors"), body

    run()
