"""Reading claims through GraphQL: one claim with every relation, and filtered lists."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import Factory
from tests.support import create_api_key, data_of, error_codes, gql


@pytest.fixture(scope="module")
def make(database_url: str) -> Iterator[Factory]:
    factory = Factory(database_url)
    yield factory
    factory.close()


def tag() -> dict[str, str]:
    """An attrs marker unique to one test, so list assertions see only that test's rows."""
    return {"test": uuid.uuid4().hex}


CLAIM_DETAIL = """
query ($id: ID!) {
  claim(id: $id) {
    id content isLatest version status
    namespace { path }
    createdBy { name }
    supersedes { id }
    confidence { reviewCount endorsementCount disputeCount meanEndorsementConfidence
                 epistemicStatus }
    provenance { confidence locationInSource source { title } extractedBy { name } }
    reviews { totalCount edges { node { verdict reviewer { name } claim { id } } } }
    versions { version isLatest }
    outgoing { totalCount edges { node { edgeType label target { content } createdBy { name }
               sourceProvenance { title } type { inverseName category } } } }
    incoming { totalCount edges { node { edgeType label source { content } } } }
    artifacts { description claims { id } }
  }
}
"""


def test_claim_by_id_carries_every_relation(make: Factory, client: httpx.Client) -> None:
    alice = make.agent("alice")
    bot = make.agent("extractor-bot", "ai")
    root = make.namespace(f"bio{uuid.uuid4().hex[:8]}")
    ns = make.namespace("immunology", root)
    paper = make.source("Aspirin trial")
    first = make.claim("aspirin lowers risk", namespace_id=ns, created_by=alice)
    claim = make.revise(first, "aspirin lowers the risk of a first heart attack")
    target = make.claim("heart attacks are preventable")
    supporter = make.claim("a trial shows fewer heart attacks")
    make.edge(claim, target, "supports", created_by=alice, source_provenance=paper)
    make.edge(supporter, claim, "supports")
    make.provenance(claim, paper, extracted_by=bot, location_in_source="p. 3")
    # A review by someone other than the creator: a self-review would not count.
    make.review(claim, bot, "endorse", 0.9)
    make.artifact([claim], description="figure 2")

    data = data_of(gql(client, CLAIM_DETAIL, {"id": str(claim)}))["claim"]

    ns_path = data["namespace"]["path"]
    assert ns_path.endswith(".immunology")
    assert data["isLatest"] is True and data["version"] == 2
    assert data["createdBy"] == {"name": "alice"}
    assert data["supersedes"] == {"id": str(first)}
    assert data["confidence"] == {
        "reviewCount": 1,
        "endorsementCount": 1,
        "disputeCount": 0,
        "meanEndorsementConfidence": 0.9,
        "epistemicStatus": "ENDORSED",
    }
    assert data["provenance"] == [
        {
            "confidence": 0.8,
            "locationInSource": "p. 3",
            "source": {"title": "Aspirin trial"},
            "extractedBy": {"name": "extractor-bot"},
        }
    ]
    assert data["reviews"]["totalCount"] == 1
    assert data["reviews"]["edges"][0]["node"] == {
        "verdict": "ENDORSE",
        "reviewer": {"name": "extractor-bot"},
        "claim": {"id": str(claim)},
    }
    assert data["versions"] == [
        {"version": 1, "isLatest": False},
        {"version": 2, "isLatest": True},
    ]
    assert data["outgoing"]["totalCount"] == 1
    assert data["outgoing"]["edges"][0]["node"] == {
        "edgeType": "supports",
        "label": "supports",
        "target": {"content": "heart attacks are preventable"},
        "createdBy": {"name": "alice"},
        "sourceProvenance": {"title": "Aspirin trial"},
        "type": {"inverseName": "supported_by", "category": "EVIDENTIAL"},
    }
    assert data["incoming"]["edges"][0]["node"] == {
        "edgeType": "supports",
        "label": "supported_by",
        "source": {"content": "a trial shows fewer heart attacks"},
    }
    assert data["artifacts"] == [{"description": "figure 2", "claims": [{"id": str(claim)}]}]


def test_unknown_claim_id_is_null_not_an_error(client: httpx.Client) -> None:
    body = gql(client, "query ($id: ID!) { claim(id: $id) { id } }", {"id": str(uuid.uuid4())})
    assert data_of(body) == {"claim": None}


def test_retracted_claim_is_still_readable_by_id(make: Factory, client: httpx.Client) -> None:
    claim = make.claim("withdrawn finding", status="retracted")
    data = data_of(
        gql(client, "query ($id: ID!) { claim(id: $id) { status } }", {"id": str(claim)})
    )
    assert data["claim"] == {"status": "RETRACTED"}


@pytest.mark.parametrize(
    ("formal", "reviews", "expected"),
    [
        (None, [], "UNVERIFIED"),
        (None, [("endorse", 0.9), ("dispute", 0.9)], "DISPUTED"),
        ("forall x. P(x)", [("endorse", 0.2)], "FORMALLY_VERIFIED"),
        (None, [("endorse", 0.8), ("endorse", 0.9)], "ENDORSED"),
        (None, [("endorse", 0.5)], "UNDER_REVIEW"),
        (None, [("request_revision", 0.9)], "UNDER_REVIEW"),
    ],
)
def test_epistemic_status_follows_the_rules_in_order(
    make: Factory,
    client: httpx.Client,
    formal: str | None,
    reviews: list[tuple[str, float]],
    expected: str,
) -> None:
    claim = make.claim("a reviewed claim", formal_content=formal)
    for verdict, confidence in reviews:
        make.review(claim, make.agent("reviewer"), verdict, confidence)
    query = "query ($id: ID!) { claim(id: $id) { confidence { epistemicStatus } } }"
    data = data_of(gql(client, query, {"id": str(claim)}))
    assert data["claim"]["confidence"]["epistemicStatus"] == expected


def test_a_new_review_shows_in_confidence_on_the_very_next_request(
    make: Factory, client: httpx.Client
) -> None:
    claim = make.claim("freshly reviewed")
    query = "query ($id: ID!) { claim(id: $id) { confidence { reviewCount epistemicStatus } } }"
    before = data_of(gql(client, query, {"id": str(claim)}))["claim"]["confidence"]
    make.review(claim, make.agent("fast reviewer"), "endorse", 0.95)
    after = data_of(gql(client, query, {"id": str(claim)}))["claim"]["confidence"]
    assert before == {"reviewCount": 0, "epistemicStatus": "UNVERIFIED"}
    assert after == {"reviewCount": 1, "epistemicStatus": "ENDORSED"}


def test_outgoing_edges_filter_by_type_and_page_with_cursors(
    make: Factory, client: httpx.Client
) -> None:
    hub = make.claim("hub")
    targets = [make.claim(f"target {i}") for i in range(5)]
    for i, target in enumerate(targets):
        make.edge(hub, target, "supports" if i % 2 == 0 else "refines")
    query = """
    query ($id: ID!, $types: [String!], $after: String) {
      claim(id: $id) {
        outgoing(edgeTypes: $types, first: 2, after: $after) {
          totalCount pageInfo { hasNextPage endCursor }
          edges { node { target { content } } }
        }
      }
    }"""
    seen: list[str] = []
    after = None
    for _ in range(3):
        variables = {"id": str(hub), "types": ["supports"], "after": after}
        page = data_of(gql(client, query, variables))["claim"]["outgoing"]
        assert page["totalCount"] == 3
        seen += [e["node"]["target"]["content"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert seen == ["target 0", "target 2", "target 4"]


def test_similar_lists_nearest_claims_of_other_lineages(
    make: Factory, client: httpx.Client
) -> None:
    marker = uuid.uuid4().hex

    def vector(x: float) -> list[float]:
        return [x, 1.0] + [0.0] * 382

    base = make.claim(f"base {marker}", embedding=vector(0.0))
    near = make.claim(f"near {marker}", embedding=vector(0.1))
    make.claim(f"far {marker}", embedding=vector(50.0))
    make.claim(f"retracted {marker}", embedding=vector(0.0), status="retracted")
    query = """
    query ($id: ID!) { claim(id: $id) { similar(first: 1) { similarity claim { id } } } }"""
    data = data_of(gql(client, query, {"id": str(base)}))["claim"]["similar"]
    assert [hit["claim"]["id"] for hit in data] == [str(near)]
    assert data[0]["similarity"] > 0.99


LIST = """
query ($filter: ClaimFilter, $first: Int, $after: String, $order: ClaimOrder) {
  claims(filter: $filter, first: $first, after: $after, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { content } }
  }
}
"""


def contents(
    client: httpx.Client,
    filter: dict[str, Any],
    headers: dict[str, str] | None = None,
    **variables: Any,
) -> list[str]:
    body = gql(
        client, LIST, {"filter": filter, "order": "CREATED_AT_ASC", **variables}, headers=headers
    )
    return [e["node"]["content"] for e in data_of(body)["claims"]["edges"]]


def test_claims_filters_each_narrow_the_list(
    make: Factory, client: httpx.Client, database_url: str
) -> None:
    # An admin sees every draft; anonymous readers see none (drafts are private).
    admin = create_api_key(database_url, ["admin"]).headers
    marker = tag()
    alice, bob = make.agent("alice"), make.agent("bob")
    top = f"f{uuid.uuid4().hex[:8]}"
    root = make.namespace(top)
    child = make.namespace("child", root)
    paper = make.source("filter paper")
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    a = make.claim("a", namespace_id=root, created_by=alice, attrs=marker | {"k": 1}, created_at=t0)
    make.claim(
        "b",
        claim_type="theorem",
        namespace_id=child,
        created_by=bob,
        attrs=marker,
        created_at=t0 + timedelta(days=1),
    )
    make.claim("c", status="draft", attrs=marker, created_at=t0 + timedelta(days=2))
    make.claim("d", status="retracted", attrs=marker, created_at=t0 + timedelta(days=3))
    make.provenance(a, paper)
    base = {"attrs": marker}

    assert contents(client, base) == ["a", "b"]
    assert contents(client, base, admin) == ["a", "b", "c"]
    assert contents(client, base | {"includeRetracted": True}, admin) == ["a", "b", "c", "d"]
    assert contents(client, base | {"statuses": ["RETRACTED"]}) == ["d"]
    assert contents(client, base | {"namespace": top}) == ["a"]
    assert contents(client, base | {"namespace": f"{top}.*"}) == ["a", "b"]
    assert contents(client, base | {"namespace": f"{top}.child"}) == ["b"]
    assert contents(client, base | {"claimTypes": ["THEOREM"]}) == ["b"]
    assert contents(client, base | {"statuses": ["DRAFT"]}, admin) == ["c"]
    assert contents(client, base | {"createdBy": str(bob)}) == ["b"]
    assert contents(client, base | {"source": str(paper)}) == ["a"]
    assert contents(client, {"attrs": marker | {"k": 1}}) == ["a"]
    window = {"createdAfter": (t0 + timedelta(hours=1)).isoformat()}
    window["createdBefore"] = (t0 + timedelta(days=2)).isoformat()
    assert contents(client, base | window) == ["b"]


def test_claims_lists_latest_versions_unless_asked(make: Factory, client: httpx.Client) -> None:
    marker = tag()
    old = make.claim("v1", attrs=marker)
    make.conn.execute("UPDATE claims SET status = 'deprecated' WHERE id = %s", (old,))
    row = make.conn.execute("SELECT lineage_id FROM claims WHERE id = %s", (old,)).fetchone()
    assert row is not None
    make.claim("v2", attrs=marker, lineage_id=row[0], version=2, supersedes=old)
    assert contents(client, {"attrs": marker}) == ["v2"]
    assert contents(client, {"attrs": marker, "latestOnly": False}) == ["v1", "v2"]


def test_claims_cursors_are_stable_when_rows_are_inserted(
    make: Factory, client: httpx.Client
) -> None:
    marker = tag()
    t0 = datetime(2021, 1, 1, tzinfo=UTC)
    for i in range(4):
        make.claim(f"n{i}", attrs=marker, created_at=t0 + timedelta(minutes=i))
    first = data_of(
        gql(client, LIST, {"filter": {"attrs": marker}, "first": 2, "order": "CREATED_AT_ASC"})
    )
    page = first["claims"]
    assert [e["node"]["content"] for e in page["edges"]] == ["n0", "n1"]
    assert page["totalCount"] == 4 and page["pageInfo"]["hasNextPage"] is True
    # Rows arriving before and after the cursor do not shift the next page.
    make.claim("early", attrs=marker, created_at=t0 - timedelta(days=1))
    make.claim("late", attrs=marker, created_at=t0 + timedelta(days=1))
    variables = {
        "filter": {"attrs": marker},
        "first": 2,
        "after": page["pageInfo"]["endCursor"],
        "order": "CREATED_AT_ASC",
    }
    second = data_of(gql(client, LIST, variables))["claims"]
    assert [e["node"]["content"] for e in second["edges"]] == ["n2", "n3"]
    assert second["pageInfo"]["hasPreviousPage"] is True
    newest = contents(client, {"attrs": marker}, order="CREATED_AT_DESC")
    assert newest[0] == "late"


def test_claims_page_size_defaults_to_20(make: Factory, client: httpx.Client) -> None:
    marker = tag()
    for i in range(21):
        make.claim(f"p{i}", attrs=marker)
    page = data_of(gql(client, LIST, {"filter": {"attrs": marker}}))["claims"]
    assert len(page["edges"]) == 20 and page["pageInfo"]["hasNextPage"] is True


def problem_paths(body: dict[str, Any]) -> list[str]:
    details = body["errors"][0]["extensions"].get("details", [])
    return [d["path"] for d in details]


@pytest.mark.parametrize(
    ("variables", "paths"),
    [
        ({"first": -1}, ["first"]),
        ({"first": 201}, ["first"]),
        ({"after": "not-a-cursor"}, ["after"]),
        ({"after": "WyJlZGdlIiwiYSIsImIiXQ"}, ["after"]),  # another list's cursor
        ({"first": -5, "after": "%%%"}, ["first", "after"]),
        ({"filter": {"attrs": [1, 2]}}, ["filter.attrs"]),
        ({"filter": {"namespace": "Bad Name"}}, ["filter.namespace"]),
    ],
)
def test_bad_list_arguments_are_coded_errors_with_their_paths(
    client: httpx.Client, variables: dict[str, Any], paths: list[str]
) -> None:
    body = gql(client, LIST, variables)
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert problem_paths(body) == paths
    assert body["data"] is None


def test_unknown_enum_value_is_a_coded_error(client: httpx.Client) -> None:
    body = gql(client, LIST, {"order": "SIDEWAYS"})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert body.get("data") is None


def test_nested_bad_cursor_is_a_coded_error(make: Factory, client: httpx.Client) -> None:
    claim = make.claim("nested cursor")
    query = 'query ($id: ID!) { claim(id: $id) { outgoing(after: "zzz") { totalCount } } }'
    body = gql(client, query, {"id": str(claim)})
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert problem_paths(body) == ["after"]
