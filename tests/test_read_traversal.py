"""Walking the graph through GraphQL: traverse, path, evidence and view."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.factories import Factory
from tests.support import data_of, error_codes, gql


@pytest.fixture(scope="module")
def make(database_url: str) -> Iterator[Factory]:
    factory = Factory(database_url)
    yield factory
    factory.close()


TRAVERSE = """
query ($start: ID!, $direction: TraversalDirection, $types: [String!], $depth: Int,
       $limit: Int, $minStrength: Float, $retracted: Boolean) {
  traverse(start: $start, direction: $direction, edgeTypes: $types, maxDepth: $depth,
           limit: $limit, minStrength: $minStrength, includeRetracted: $retracted) {
    truncated
    start { content }
    nodes { depth reachedFrom claim { content } via { edgeType source { content } } }
    edges { id }
  }
}
"""


# A bare selection, so the query-cost cap does not refuse a large `limit` before it is read.
TRAVERSE_BARE = """
query ($start: ID!, $types: [String!], $depth: Int, $limit: Int, $minStrength: Float) {
  traverse(start: $start, edgeTypes: $types, maxDepth: $depth, limit: $limit,
           minStrength: $minStrength) { truncated }
}
"""


def walk(client: httpx.Client, start: UUID, **variables: Any) -> dict[str, Any]:
    body = gql(client, TRAVERSE, {"start": str(start), **variables})
    result: dict[str, Any] = data_of(body)["traverse"]
    return result


def depths(result: dict[str, Any]) -> dict[str, int]:
    return {node["claim"]["content"]: node["depth"] for node in result["nodes"]}


def chain(make: Factory, names: str) -> dict[str, UUID]:
    return {name: make.claim(name) for name in names}


def test_cycle_is_walked_once_per_node(make: Factory, client: httpx.Client) -> None:
    c = chain(make, "abc")
    make.edge(c["a"], c["b"])
    make.edge(c["b"], c["c"])
    make.edge(c["c"], c["a"])
    result = walk(client, c["a"], depth=10)
    assert depths(result) == {"a": 0, "b": 1, "c": 2}
    assert result["truncated"] is False
    assert len(result["edges"]) == 2


def diamond(make: Factory) -> dict[str, UUID]:
    """a -> b -> d and a -> c -> d, then d -> e."""
    c = chain(make, "abcde")
    for source, target in ("ab", "ac", "bd", "cd", "de"):
        make.edge(c[source], c[target])
    return c


def test_diamond_reports_each_node_once_at_its_shortest_depth(
    make: Factory, client: httpx.Client
) -> None:
    c = diamond(make)
    make.edge(c["a"], c["e"], "refines")  # a shortcut: e is at depth 1
    result = walk(client, c["a"], depth=5)
    assert depths(result) == {"a": 0, "b": 1, "c": 1, "d": 2, "e": 1}
    e = next(n for n in result["nodes"] if n["claim"]["content"] == "e")
    assert e["via"]["edgeType"] == "refines" and e["reachedFrom"] == str(c["a"])


def test_symmetric_edges_are_walked_both_ways(make: Factory, client: httpx.Client) -> None:
    c = chain(make, "abc")
    make.edge(c["b"], c["a"], "contradicts")  # points at a, yet a reaches b
    make.edge(c["c"], c["a"], "supports")  # not symmetric: a does not reach c
    assert depths(walk(client, c["a"])) == {"a": 0, "b": 1}
    incoming = walk(client, c["a"], direction="INCOMING")
    assert depths(incoming) == {"a": 0, "b": 1, "c": 1}


def test_edge_type_and_strength_filters_limit_the_walk(make: Factory, client: httpx.Client) -> None:
    c = chain(make, "abc")
    make.edge(c["a"], c["b"], "depends_on", strength=0.9)
    make.edge(c["a"], c["c"], "supports", strength=0.2)
    assert depths(walk(client, c["a"], types=["depends_on"])) == {"a": 0, "b": 1}
    assert depths(walk(client, c["a"], minStrength=0.5)) == {"a": 0, "b": 1}


def test_retracted_claims_are_not_walked_unless_asked(make: Factory, client: httpx.Client) -> None:
    c = chain(make, "abc")
    make.edge(c["a"], c["b"])
    make.edge(c["b"], c["c"])
    make.set_status(c["b"], "retracted")
    assert depths(walk(client, c["a"])) == {"a": 0}
    assert depths(walk(client, c["a"], retracted=True)) == {"a": 0, "b": 1, "c": 2}


# 40 spokes are more than the level's sample (2 per needed claim): the level stops there.
@pytest.mark.parametrize("spokes", [5, 40])
def test_limit_truncates_and_says_so(make: Factory, client: httpx.Client, spokes: int) -> None:
    hub = make.claim("hub")
    for i in range(spokes):
        make.edge(hub, make.claim(f"leaf {i}"))
    result = walk(client, hub, limit=3)
    assert result["truncated"] is True
    assert len(result["nodes"]) == 4  # the start and three reached claims
    assert {n["depth"] for n in result["nodes"][1:]} == {1}
    assert walk(client, hub, limit=spokes)["truncated"] is False


def test_a_level_with_more_edges_than_its_sample_is_read_whole(
    make: Factory, client: httpx.Client
) -> None:
    # Level 2 needs up to 91 new claims, so it samples 2 * 91 = 182 candidate edges first.
    # Here 390 edges lead to 3 new claims: the sample alone would miss some, so the level
    # reads every edge and the walk goes on beyond it.
    types = ["supports", "contradicts", "corroborates", "depends_on", "assumes", "derives_from",
             "implies", "generalizes", "refines", "part_of", "instantiates", "supersedes",
             "responds_to"]  # fmt: skip
    start = make.claim("start")
    fans = [make.claim(f"fan {i}") for i in range(10)]
    sinks = [make.claim(f"sink {i}") for i in range(3)]
    beyond = make.claim("beyond")
    for fan in fans:
        make.edge(start, fan)
        for sink in sinks:
            for edge_type in types:
                make.edge(fan, sink, edge_type)
    make.edge(sinks[0], beyond)
    result = walk(client, start, depth=5, limit=100)
    assert result["truncated"] is False
    reached = depths(result)
    assert {reached[f"sink {i}"] for i in range(3)} == {2}
    assert reached["beyond"] == 3 and len(reached) == 15


# The benchmark's shape: ids and depths only, answered without reading any claim's row.
TRAVERSE_IDS = """
query ($start: ID!, $retracted: Boolean) {
  traverse(start: $start, maxDepth: 5, includeRetracted: $retracted) {
    truncated start { content } nodes { depth reachedFrom claim { id __typename } }
  }
}
"""


def test_a_walk_read_by_ids_reports_the_same_nodes(make: Factory, client: httpx.Client) -> None:
    c = diamond(make)
    make.edge(c["e"], c["a"])
    make.set_status(c["c"], "retracted")
    result = data_of(gql(client, TRAVERSE_IDS, {"start": str(c["a"])}))["traverse"]
    assert result["start"] == {"content": "a"} and result["truncated"] is False
    by_id = {UUID(n["claim"]["id"]): (n["depth"], n["reachedFrom"]) for n in result["nodes"]}
    assert by_id == {
        c["a"]: (0, None),
        c["b"]: (1, str(c["a"])),
        c["d"]: (2, str(c["b"])),
        c["e"]: (3, str(c["d"])),
    }
    full = walk(client, c["a"], depth=5, retracted=True)
    everything = data_of(gql(client, TRAVERSE_IDS, {"start": str(c["a"]), "retracted": True}))
    assert [n["depth"] for n in everything["traverse"]["nodes"]] == [
        n["depth"] for n in full["nodes"]
    ]
    assert [n["reachedFrom"] for n in everything["traverse"]["nodes"]] == [
        n["reachedFrom"] for n in full["nodes"]
    ]


# By-ids selections, each with the fragments it spreads. Without directives and with
# `nodes` under one name, the nodes are built straight from the selection (NodeShape);
# the others go through graphql-core. Either way the answer is graphql-core's.
ID_SELECTIONS = [
    ("nodes { depth claim { id } }", ""),
    ("nodes { d: depth from: reachedFrom t: __typename c: claim { i: id __typename } }", ""),
    ("nodes { ...N claim { __typename } }", "fragment N on TraversalNode { depth claim { id } }"),
    ("nodes { depth ... on TraversalNode { reachedFrom claim { id } } }", ""),
    ("nodes { claim { id } c2: claim { ...C } }", "fragment C on Claim { __typename id }"),
    ("nodes { depth @include(if: true) claim { id @skip(if: true) } }", ""),
    ("first: nodes { depth } second: nodes { claim { id } }", ""),
]


@pytest.mark.parametrize(("selection", "fragments"), ID_SELECTIONS)
def test_nodes_read_by_ids_answer_as_graphql_core_would(
    make: Factory, client: httpx.Client, selection: str, fragments: str
) -> None:
    c = diamond(make)

    def answer(extra: str) -> dict[str, Any]:
        query = (
            "query ($start: ID!) { traverse(start: $start, maxDepth: 5) { "
            f"{selection} {extra} }} }} {fragments}"
        )
        result: dict[str, Any] = data_of(gql(client, query, {"start": str(c["a"])}))["traverse"]
        return result

    by_ids = answer("")
    # Asking for the edges too makes the walk read whole rows and graphql-core complete
    # every node: the reference answer.
    general = answer("edges { id }")
    del general["edges"]
    assert by_ids == general
    assert len(next(iter(by_ids.values()))) == 5


FRAGMENT_SELECTIONS = [
    "nodes { ...Node } } } fragment Node on TraversalNode { claim { content } }",
    "nodes { ... on TraversalNode { claim { content } } } } }",
    "nodes { claim { ...Content } } } } fragment Content on Claim { content }",
    "nodes { claim { ... @include(if: true) { content } } } } }",
]


@pytest.mark.parametrize("selection", FRAGMENT_SELECTIONS)
def test_claim_fields_behind_fragments_are_read(
    make: Factory, client: httpx.Client, selection: str
) -> None:
    c = chain(make, "ab")
    make.edge(c["a"], c["b"])
    query = f"query ($start: ID!) {{ traverse(start: $start) {{ {selection}"
    nodes = data_of(gql(client, query, {"start": str(c["a"])}))["traverse"]["nodes"]
    assert nodes == [{"claim": {"content": "a"}}, {"claim": {"content": "b"}}]


def test_edges_are_read_beside_claim_ids(make: Factory, client: httpx.Client) -> None:
    c = chain(make, "ab")
    edge = make.edge(c["a"], c["b"])
    query = """query ($start: ID!) {
      traverse(start: $start) { nodes { claim { id } via { id } } edges { id } }
    }"""
    result = data_of(gql(client, query, {"start": str(c["a"])}))["traverse"]
    assert result["nodes"][1] == {"claim": {"id": str(c["b"])}, "via": {"id": str(edge)}}
    assert result["edges"] == [{"id": str(edge)}]


def test_depth_above_the_cap_is_limit_exceeded(make: Factory, client: httpx.Client) -> None:
    body = gql(client, TRAVERSE, {"start": str(make.claim("deep")), "depth": 11})
    assert error_codes(body) == ["LIMIT_EXCEEDED"]
    assert body["data"] is None


@pytest.mark.parametrize(
    ("variables", "path"),
    [
        ({"depth": 0}, "maxDepth"),
        ({"limit": 1001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"minStrength": 2.0}, "minStrength"),
        ({"types": ["supports", "no_such_type"]}, "edgeTypes[1]"),
    ],
)
def test_bad_traversal_arguments_are_coded_errors(
    make: Factory, client: httpx.Client, variables: dict[str, Any], path: str
) -> None:
    body = gql(client, TRAVERSE_BARE, {"start": str(make.claim("x")), **variables})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert [d["path"] for d in body["errors"][0]["extensions"]["details"]] == [path]


def test_unknown_traversal_start_is_not_found(client: httpx.Client) -> None:
    body = gql(client, TRAVERSE, {"start": str(uuid.uuid4())})
    assert error_codes(body) == ["NOT_FOUND"]


PATH = """
query ($from: ID!, $to: ID!, $types: [String!], $depth: Int, $direction: TraversalDirection) {
  path(from: $from, to: $to, edgeTypes: $types, maxDepth: $depth, direction: $direction) {
    length claims { content } edges { edgeType }
  }
}
"""


def test_path_finds_a_shortest_path_or_null(make: Factory, client: httpx.Client) -> None:
    c = chain(make, "abcdz")
    make.edge(c["a"], c["b"])
    make.edge(c["b"], c["c"])
    make.edge(c["c"], c["d"])
    make.edge(c["a"], c["c"], "depends_on")
    found = data_of(gql(client, PATH, {"from": str(c["a"]), "to": str(c["d"])}))["path"]
    assert found["length"] == 2
    assert [x["content"] for x in found["claims"]] == ["a", "c", "d"]
    assert [e["edgeType"] for e in found["edges"]] == ["depends_on", "supports"]
    only_supports = {"from": str(c["a"]), "to": str(c["d"]), "types": ["supports"]}
    assert data_of(gql(client, PATH, only_supports))["path"]["length"] == 3
    too_short = {"from": str(c["a"]), "to": str(c["d"]), "types": ["supports"], "depth": 2}
    assert data_of(gql(client, PATH, too_short))["path"] is None
    assert data_of(gql(client, PATH, {"from": str(c["a"]), "to": str(c["z"])}))["path"] is None
    backwards = {"from": str(c["d"]), "to": str(c["a"]), "direction": "OUTGOING"}
    assert data_of(gql(client, PATH, backwards))["path"] is None
    assert data_of(gql(client, PATH, backwards | {"direction": "BOTH"}))["path"]["length"] == 2


def test_path_from_an_unknown_claim_is_not_found(make: Factory, client: httpx.Client) -> None:
    body = gql(client, PATH, {"from": str(uuid.uuid4()), "to": str(make.claim("t"))})
    assert error_codes(body) == ["NOT_FOUND"]


EVIDENCE = """
query ($id: ID!, $depth: Int) {
  evidence(claimId: $id, depth: $depth) {
    claim { content }
    supporting { depth claim { content } }
    corroborating { claim { content } }
    contradicting { claim { content } }
    summary { supportingCount contradictingCount corroboratingCount netSupport }
  }
}
"""


def test_evidence_lists_and_sums_support_and_contradiction(
    make: Factory, client: httpx.Client
) -> None:
    c = chain(make, "cspqkr")
    make.edge(c["s"], c["c"], "supports", strength=1.0)
    make.edge(c["p"], c["s"], "supports", strength=1.0)
    make.edge(c["q"], c["c"], "corroborates", strength=0.5)
    make.edge(c["c"], c["k"], "contradicts", strength=0.5)
    make.edge(c["r"], c["k"], "supports")  # supports the contradictor, not the claim
    direct = data_of(gql(client, EVIDENCE, {"id": str(c["c"])}))["evidence"]
    assert [x["claim"]["content"] for x in direct["supporting"]] == ["s"]
    assert [x["claim"]["content"] for x in direct["corroborating"]] == ["q"]
    assert [x["claim"]["content"] for x in direct["contradicting"]] == ["k"]
    # S = 1.0/1 + 0.5/1, C = 0.5: (1.5 - 0.5) / 2.0
    assert direct["summary"] == {
        "supportingCount": 1,
        "contradictingCount": 1,
        "corroboratingCount": 1,
        "netSupport": 0.5,
    }
    deep = data_of(gql(client, EVIDENCE, {"id": str(c["c"]), "depth": 2}))["evidence"]
    assert {x["claim"]["content"]: x["depth"] for x in deep["supporting"]} == {"s": 1, "p": 2}
    # S = 1 + 1/2 + 0.5, C = 0.5: (2.0 - 0.5) / 2.5
    assert deep["summary"]["netSupport"] == pytest.approx(0.6)


def test_evidence_of_an_unknown_claim_is_not_found(client: httpx.Client) -> None:
    body = gql(client, EVIDENCE, {"id": str(uuid.uuid4())})
    assert error_codes(body) == ["NOT_FOUND"]


VIEW = """
query ($kind: ViewKind!, $root: ID, $claims: [ID!]) {
  view(kind: $kind, root: $root, claims: $claims) {
    __typename
    ... on PaperView { source { title } claims { content } edges { edgeType } }
    ... on ProofTreeView { truncated nodes { depth reachedFrom claim { content } } }
    ... on ComparisonView {
      entries { claim { content } confidence { reviewCount }
                evidence { supportingCount contradictingCount netSupport } }
    }
  }
}
"""


def test_paper_view_lists_a_sources_claims_in_order_with_their_edges(
    make: Factory, client: httpx.Client
) -> None:
    paper = make.source("A paper")
    second = make.claim("second")
    first = make.claim("first")
    outside = make.claim("outside")
    make.provenance(second, paper, location_in_source="2")
    make.provenance(first, paper, location_in_source="1")
    make.edge(first, second, "supports")
    make.edge(first, outside, "refines")
    view = data_of(gql(client, VIEW, {"kind": "PAPER", "root": str(paper)}))["view"]
    assert view == {
        "__typename": "PaperView",
        "source": {"title": "A paper"},
        "claims": [{"content": "first"}, {"content": "second"}],
        "edges": [{"edgeType": "supports"}],
    }


def test_proof_tree_view_follows_premises_transitively(make: Factory, client: httpx.Client) -> None:
    c = chain(make, "tlax")
    make.edge(c["t"], c["l"], "depends_on")
    make.edge(c["l"], c["a"], "assumes")
    make.edge(c["t"], c["x"], "supports")  # not a premise
    view = data_of(gql(client, VIEW, {"kind": "PROOF_TREE", "root": str(c["t"])}))["view"]
    assert [(n["claim"]["content"], n["depth"]) for n in view["nodes"]] == [
        ("t", 0),
        ("l", 1),
        ("a", 2),
    ]
    assert view["nodes"][2]["reachedFrom"] == str(c["l"])


def test_comparison_view_shows_claims_side_by_side(make: Factory, client: httpx.Client) -> None:
    c = chain(make, "abs")
    make.edge(c["s"], c["a"], "supports")
    make.edge(c["b"], c["a"], "contradicts")
    make.review(c["a"], make.agent("r"), "endorse")
    view = data_of(gql(client, VIEW, {"kind": "COMPARISON", "claims": [str(c["a"]), str(c["b"])]}))
    entries = view["view"]["entries"]
    assert entries[0] == {
        "claim": {"content": "a"},
        "confidence": {"reviewCount": 1},
        "evidence": {"supportingCount": 1, "contradictingCount": 1, "netSupport": 0.0},
    }
    assert entries[1]["evidence"]["contradictingCount"] == 1


def test_view_arguments_are_checked_and_unknown_roots_are_null(client: httpx.Client) -> None:
    missing = gql(client, VIEW, {"kind": "PAPER"})
    assert error_codes(missing) == ["VALIDATION_FAILED"]
    one = gql(client, VIEW, {"kind": "COMPARISON", "claims": [str(uuid.uuid4())]})
    assert error_codes(one) == ["VALIDATION_FAILED"]
    unknown = gql(client, VIEW, {"kind": "PROOF_TREE", "root": str(uuid.uuid4())})
    assert data_of(unknown) == {"view": None}
