"""Over HTTP, on Phiacta's schema, a server running queries from plans answers every
read exactly as one with GRAPHQL_COMPILED_QUERIES=false (graphql-core's general
execution), errors included."""

from __future__ import annotations

import gc
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis

from tests.factories import Factory
from tests.graphql_fuzz import run_cases
from tests.support import LiveServer, create_api_key, make_settings

# Generated queries per root field (PHIACTA_FUZZ_EXAMPLES raises it, as for test_fuzz).
FUZZ_EXAMPLES = int(os.environ.get("PHIACTA_FUZZ_EXAMPLES", "3"))


@pytest.fixture(scope="module")
def make(database_url: str) -> Iterator[Factory]:
    factory = Factory(database_url)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def general_client(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    settings = make_settings(
        database_url, tmp_path_factory.mktemp("general"), graphql_compiled_queries=False
    )
    with LiveServer.run(settings) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def graph(make: Factory) -> dict[str, str]:
    """A small graph with a namespace, a source, reviews, a revision and a retraction."""
    alice = make.agent("alice")
    bot = make.agent("bot", "ai")
    ns = make.namespace(f"cmp{uuid.uuid4().hex[:8]}")
    paper = make.source("A paper")
    first = make.claim("aspirin lowers risk", namespace_id=ns, created_by=alice)
    claim = make.revise(first, "aspirin lowers the risk of heart attacks")
    targets = [make.claim(f"target {i}", created_by=bot, attrs={"i": i}) for i in range(4)]
    for i, target in enumerate(targets):
        make.edge(claim, target, ("supports", "contradicts")[i % 2], source_provenance=paper)
    make.edge(targets[0], targets[1], "depends_on")
    make.edge(targets[1], claim, "supports")
    make.review(claim, alice, "endorse", 0.8)
    make.review(claim, bot, "dispute", 0.4)
    make.provenance(claim, paper, extracted_by=bot)
    gone = make.claim("retracted one")
    make.set_status(gone, "retracted")
    return {"claim": str(claim), "first": str(first), "target": str(targets[0]), "ns": str(ns)}


CLAIM = """query ($id: ID!) { claim(id: $id) {
  id content isLatest version status attrs createdAt __typename
  namespace { path parent { name } } createdBy { name agentType }
  supersedes { id } versions { version isLatest }
  confidence { reviewCount endorsementCount disputeCount meanEndorsementConfidence
               epistemicStatus }
  provenance { confidence source { title } extractedBy { name } }
  reviews { totalCount edges { cursor node { verdict confidence reviewer { name } } } }
  outgoing(first: 3) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { edgeType label strength target { id content } createdBy { name }
            sourceProvenance { title } type { inverseName category } } } }
  incoming { edges { node { edgeType label source { content } } } }
  similar(first: 2) { claim { id } }
} }"""

QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    ("claim", CLAIM, {"id": "claim"}),
    ("old version", CLAIM, {"id": "first"}),
    ("unknown claim", CLAIM, {"id": str(uuid.UUID(int=7))}),
    (
        "claims page",
        """query ($after: String) { claims(first: 2, after: $after, orderBy: CREATED_AT_ASC) {
        totalCount pageInfo { hasNextPage hasPreviousPage } edges { node { content } } } }""",
        {},
    ),
    (
        "claims filtered",
        """query ($f: ClaimFilter) { claims(filter: $f) { totalCount edges { node { id
        outgoing { totalCount } } } } }""",
        {"f": {"statuses": ["RETRACTED"], "includeRetracted": True}},
    ),
    (
        "traverse",
        """query ($id: ID!) { traverse(start: $id, maxDepth: 3, direction: BOTH) { truncated
        start { id } nodes { depth reachedFrom claim { content } via { edgeType } }
        edges { edgeType } } }""",
        {"id": "claim"},
    ),
    (
        "traverse by ids",
        "query ($id: ID!) { traverse(start: $id) { nodes { depth claim { id } } } }",
        {"id": "claim"},
    ),
    (
        "path",
        """query ($a: ID!, $b: ID!) { path(from: $a, to: $b) { length claims { content }
        edges { edgeType } } }""",
        {"a": "target", "b": "claim"},
    ),
    (
        "evidence",
        """query ($id: ID!) { evidence(claimId: $id, depth: 2) { truncated
        claim { id } supporting { depth claim { content } } contradicting { depth }
        summary { supportingCount contradictingCount netSupport } } }""",
        {"id": "claim"},
    ),
    (
        "search",
        """{ search(query: "aspirin", mode: FULLTEXT) { mode hits { rank snippet
        rankings { mode rank } claim { content } } } }""",
        {},
    ),
    (
        "lists",
        """{ edgeTypes { name isSymmetric category } namespaces { path children { name } }
        agents(first: 5) { totalCount edges { node { name agentType } } }
        sources { edges { node { title submittedBy { name } } } } }""",
        {},
    ),
    (
        "view (a union: not planned)",
        """query ($id: ID!) { view(kind: PROOF_TREE, root: $id) { __typename
        ... on ProofTreeView { root { id } } } }""",
        {"id": "claim"},
    ),
    (
        "unknown traversal start",
        "query ($id: ID!) { traverse(start: $id) { truncated } }",
        {"id": str(uuid.UUID(int=9))},
    ),
    ("negative first", "{ claims(first: -1) { totalCount } }", {}),
    ("malformed cursor", '{ claims(after: "nonsense") { totalCount } }', {}),
    ("bad variable", "query ($n: Int) { claims(first: $n) { totalCount } }", {"n": "ten"}),
    ("malformed id", "query ($id: ID!) { claim(id: $id) { id } }", {"id": "not-a-uuid"}),
    (
        "depth cap",
        "query ($id: ID!) { traverse(start: $id, maxDepth: 99) { truncated } }",
        {"id": "claim"},
    ),
]


ERRORS = {"unknown traversal start", "negative first", "malformed cursor", "bad variable",
          "malformed id", "depth cap"}  # fmt: skip


def _variables(given: dict[str, Any], graph: dict[str, str]) -> dict[str, Any]:
    return {k: graph.get(v, v) if isinstance(v, str) else v for k, v in given.items()}


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    """The body without what differs between any two requests (their ids)."""
    for error in body.get("errors") or ():
        error.get("extensions", {}).pop("request_id", None)
    return body


@pytest.mark.parametrize(("name", "query", "variables"), QUERIES, ids=[q[0] for q in QUERIES])
def test_planned_and_general_execution_answer_alike(
    client: httpx.Client,
    general_client: httpx.Client,
    graph: dict[str, str],
    name: str,
    query: str,
    variables: dict[str, Any],
) -> None:
    payload = {"query": query, "variables": _variables(variables, graph)}
    # Twice: the first request makes the plan, the second runs the kept one.
    for _ in range(2):
        planned = client.post("/graphql", json=payload)
        general = general_client.post("/graphql", json=payload)
        assert planned.status_code == general.status_code
        assert _comparable(planned.json()) == _comparable(general.json())
    # Only the bad requests at the end of QUERIES are answered with errors.
    assert ("errors" in planned.json()) == (name in ERRORS), planned.json()


def test_the_setting_is_read(tmp_path: Path, database_url: str) -> None:
    assert make_settings(database_url, tmp_path).graphql_compiled_queries is True
    off = make_settings(database_url, tmp_path, graphql_compiled_queries=False)
    assert off.graphql_compiled_queries is False


def test_an_answered_query_leaves_no_cyclic_garbage(
    client: httpx.Client, graph: dict[str, str]
) -> None:
    """The request's context, loaders and executor are freed by reference counting: left
    in reference cycles, they cost the cyclic collector about a tenth of the CPU."""
    payload = {"query": CLAIM, "variables": {"id": graph["claim"]}}
    client.post("/graphql", json=payload)  # the plan is made
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(5):
            assert "errors" not in client.post("/graphql", json=payload).json()
        gc.collect()
        left = {type(obj).__name__ for obj in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert not left & {"Context", "Loaders", "Executor", "ClaimRow", "DataLoader"}


def _sorted_errors(body: dict[str, Any]) -> dict[str, Any]:
    """GraphQL leaves the order of errors open: a planned run that fell back replays a
    failed resolver at once, where graphql-core alone met it after an await."""
    errors = _comparable(body).get("errors")
    if errors:
        body["errors"] = sorted(errors, key=lambda error: json.dumps(error, sort_keys=True))
    return body


def test_generated_queries_answer_alike_with_and_without_plans(
    server: LiveServer,
    client: httpx.Client,
    general_client: httpx.Client,
    graph: dict[str, str],
    database_url: str,
) -> None:
    """Random selections of every root query field (schemathesis), sent with an admin
    key to both servers over the same data."""
    admin = create_api_key(database_url, ["admin"])
    schema = schemathesis.graphql.from_url(f"{server.url}/graphql")
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().label.startswith("Query.")
    ]
    assert len(operations) > 15
    differences: list[str] = []
    for operation in operations:

        def send(document: str) -> None:
            payload = {"query": document}
            for _ in range(2):  # the first request makes the plan
                planned = client.post("/graphql", json=payload, headers=admin.headers)
                general = general_client.post("/graphql", json=payload, headers=admin.headers)
                if (planned.status_code, _sorted_errors(planned.json())) != (
                    general.status_code,
                    _sorted_errors(general.json()),
                ):
                    differences.append(repr(document))

        run_cases(operation, FUZZ_EXAMPLES, send)
    assert not differences, "\n".join(differences[:5])
