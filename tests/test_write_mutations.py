"""The single-item writes through GraphQL over HTTP: claims and their versions, edges,
reviews, agents, sources and edge types, with ownership enforced."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import ApiKey, create_api_key, data_of, error_codes, gql, unique_name
from tests.write_support import details, row_counts

CREATE_CLAIM = """mutation($input: CreateClaimInput!) {
  createClaim(input: $input) { id lineageId version status isLatest createdById } }"""
REVISE = """mutation($id: ID!, $input: ReviseClaimInput!) {
  reviseClaim(id: $id, input: $input) {
    id lineageId version status supersedesId content isLatest } }"""
SET_STATUS = """mutation($id: ID!, $status: ClaimStatus!, $reason: String) {
  setClaimStatus(id: $id, status: $status, reason: $reason) { id status } }"""
CREATE_EDGE = """mutation($input: CreateEdgeInput!) {
  createEdge(input: $input) { id sourceId targetId edgeType createdById } }"""
DELETE_EDGE = "mutation($id: ID!) { deleteEdge(id: $id) { id } }"
CREATE_REVIEW = """mutation($input: CreateReviewInput!) {
  createReview(input: $input) { replaced review { id verdict confidence reviewerId } } }"""


@pytest.fixture(scope="module")
def writer(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["claims:write", "reviews:write"])


@pytest.fixture(scope="module")
def other(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["claims:write"])


@pytest.fixture(scope="module")
def admin(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["admin"])


def new_claim(client: httpx.Client, key: ApiKey, **fields: Any) -> dict[str, Any]:
    body = {"content": f"claim {unique_name('c')}", **fields}
    claim: dict[str, Any] = data_of(
        gql(client, CREATE_CLAIM, {"input": body}, headers=key.headers)
    )["createClaim"]
    return claim


def revise(client: httpx.Client, key: ApiKey, claim_id: str, content: str) -> dict[str, Any]:
    return gql(client, REVISE, {"id": claim_id, "input": {"content": content}}, headers=key.headers)


def test_create_claim_is_version_one_made_by_the_calling_agent(
    client: httpx.Client, database_url: str, writer: ApiKey
) -> None:
    claim = new_claim(client, writer)
    assert (claim["version"], claim["status"], claim["isLatest"]) == (1, "ACTIVE", True)
    assert claim["lineageId"] == claim["id"]
    assert claim["createdById"] == str(writer.agent_id)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT embedding IS NOT NULL FROM claims WHERE id = %s", (claim["id"],)
        ).fetchone()
        event = conn.execute(
            "SELECT count(*) FROM events WHERE type = 'claim_created'"
            " AND payload->>'claim_id' = %s",
            (claim["id"],),
        ).fetchone()
    assert row == (True,) and event == (1,)


def test_attrs_keep_integers_beyond_64_bits_through_the_database_and_back(
    client: httpx.Client, writer: ApiKey
) -> None:
    attrs = {"avogadro_scaled": 602214076000000000000000, "note": "caf\u00e9"}
    claim = new_claim(client, writer, attrs=attrs)
    read = data_of(gql(client, "query($id: ID!) { claim(id: $id) { attrs } }", {"id": claim["id"]}))
    assert read["claim"]["attrs"] == attrs


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"content": ""}, ("input.content", "INVALID_VALUE")),
        ({"content": "y" * 10_001}, ("input.content", "LIMIT_EXCEEDED")),
        ({"content": "ok", "namespace": "not.there"}, ("input.namespace", "NAMESPACE_NOT_FOUND")),
        ({"content": "ok", "sourceId": "nope"}, ("input.sourceId", "INVALID_VALUE")),
    ],
)
def test_bad_claim_input_is_refused_with_its_path_and_writes_nothing(
    client: httpx.Client,
    database_url: str,
    writer: ApiKey,
    fields: dict[str, Any],
    expected: tuple[str, str],
) -> None:
    before = row_counts(database_url)
    answer = gql(client, CREATE_CLAIM, {"input": fields}, headers=writer.headers)
    assert error_codes(answer) == ["VALIDATION_FAILED"]
    assert expected in details(answer)
    assert row_counts(database_url) == before


def test_revise_makes_a_new_version_and_deprecates_the_old_one(
    client: httpx.Client, database_url: str, writer: ApiKey
) -> None:
    claim = new_claim(client, writer)
    revised = data_of(revise(client, writer, claim["id"], "better wording"))["reviseClaim"]
    assert revised["lineageId"] == claim["lineageId"]
    assert (revised["version"], revised["supersedesId"]) == (2, claim["id"])
    assert (revised["status"], revised["isLatest"], revised["content"]) == (
        "ACTIVE",
        True,
        "better wording",
    )
    with psycopg.connect(database_url) as conn:
        old = conn.execute("SELECT status FROM claims WHERE id = %s", (claim["id"],)).fetchone()
        events = conn.execute(
            "SELECT type FROM events WHERE payload->>'lineage_id' = %s ORDER BY id",
            (claim["lineageId"],),
        ).fetchall()
    assert old == ("deprecated",)
    assert [e[0] for e in events] == ["claim_created", "claim_status_changed", "claim_revised"]


def test_revising_a_version_that_is_not_the_latest_is_refused_and_writes_nothing(
    client: httpx.Client, database_url: str, writer: ApiKey
) -> None:
    claim = new_claim(client, writer)
    data_of(revise(client, writer, claim["id"], "second"))
    before = row_counts(database_url)
    answer = revise(client, writer, claim["id"], "a fork of the first")
    assert error_codes(answer) == ["CONFLICT"]
    assert details(answer) == [("id", "CONFLICT")]
    assert row_counts(database_url) == before


def test_a_non_uuid_id_is_refused_with_its_path(
    client: httpx.Client, database_url: str, writer: ApiKey
) -> None:
    before = row_counts(database_url)
    answer = revise(client, writer, "claim-42", "text")
    assert error_codes(answer) == ["VALIDATION_FAILED"]
    assert details(answer) == [("id", "INVALID_VALUE")]
    assert row_counts(database_url) == before


def test_two_concurrent_revisions_of_one_version_make_exactly_one_new_version(
    server: Any, client: httpx.Client, database_url: str, writer: ApiKey
) -> None:
    claim = new_claim(client, writer)

    def attempt(n: int) -> dict[str, Any]:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            return revise(http, writer, claim["id"], f"revision {n}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(attempt, range(4)))
    assert sum(1 for a in answers if not a.get("errors")) == 1
    with psycopg.connect(database_url) as conn:
        versions = conn.execute(
            "SELECT version FROM claims WHERE lineage_id = %s ORDER BY version",
            (claim["lineageId"],),
        ).fetchall()
    assert versions == [(1,), (2,)]


def test_retraction_needs_a_reason_and_is_recorded_in_the_event(
    client: httpx.Client, database_url: str, writer: ApiKey
) -> None:
    claim = new_claim(client, writer)
    refused = gql(
        client, SET_STATUS, {"id": claim["id"], "status": "RETRACTED"}, headers=writer.headers
    )
    assert details(refused) == [("reason", "INVALID_VALUE")]
    done = gql(
        client,
        SET_STATUS,
        {"id": claim["id"], "status": "RETRACTED", "reason": "fabricated data"},
        headers=writer.headers,
    )
    assert data_of(done)["setClaimStatus"]["status"] == "RETRACTED"
    with psycopg.connect(database_url) as conn:
        event = conn.execute(
            "SELECT payload->>'reason', payload->>'previous_status' FROM events"
            " WHERE type = 'claim_status_changed' AND payload->>'claim_id' = %s",
            (claim["id"],),
        ).fetchone()
    assert event == ("fabricated data", "active")


def test_another_agents_claim_cannot_be_revised_or_retracted_but_an_admin_can(
    client: httpx.Client, database_url: str, writer: ApiKey, other: ApiKey, admin: ApiKey
) -> None:
    claim = new_claim(client, writer)
    before = row_counts(database_url)
    assert error_codes(revise(client, other, claim["id"], "hijack")) == ["FORBIDDEN"]
    retract = {"id": claim["id"], "status": "RETRACTED", "reason": "mine now"}
    assert error_codes(gql(client, SET_STATUS, retract, headers=other.headers)) == ["FORBIDDEN"]
    assert row_counts(database_url) == before
    data_of(revise(client, admin, claim["id"], "corrected by an admin"))


def _edge(client: httpx.Client, key: ApiKey, a: str, b: str, edge_type: str) -> dict[str, Any]:
    body = {"sourceId": a, "targetId": b, "edgeType": edge_type}
    return gql(client, CREATE_EDGE, {"input": body}, headers=key.headers)


def test_create_edge_by_the_calling_agent_and_duplicates_conflict(
    client: httpx.Client, writer: ApiKey
) -> None:
    a, b = new_claim(client, writer)["id"], new_claim(client, writer)["id"]
    edge = data_of(_edge(client, writer, a, b, "supports"))["createEdge"]
    assert (edge["sourceId"], edge["targetId"], edge["createdById"]) == (a, b, str(writer.agent_id))
    assert error_codes(_edge(client, writer, a, b, "supports")) == ["CONFLICT"]


def test_symmetric_edge_is_stored_once_whichever_way_it_is_given(
    client: httpx.Client, database_url: str, writer: ApiKey
) -> None:
    a, b = new_claim(client, writer)["id"], new_claim(client, writer)["id"]
    data_of(_edge(client, writer, b, a, "contradicts"))
    assert error_codes(_edge(client, writer, a, b, "contradicts")) == ["CONFLICT"]
    with psycopg.connect(database_url) as conn:
        count = conn.execute(
            "SELECT count(*) FROM edges WHERE edge_type = 'contradicts'"
            " AND %s IN (source_id, target_id) AND %s IN (source_id, target_id)",
            (a, b),
        ).fetchone()
    assert count == (1,)


def test_anti_reflexive_self_loop_and_unknown_type_are_coded_validation_errors(
    client: httpx.Client, database_url: str, writer: ApiKey
) -> None:
    a = new_claim(client, writer)["id"]
    before = row_counts(database_url)
    loop = _edge(client, writer, a, a, "supports")
    assert error_codes(loop) == ["VALIDATION_FAILED"]
    assert details(loop) == [("input.targetId", "INVALID_VALUE")]
    unknown = _edge(client, writer, a, a, "is_cousin_of")
    assert ("input.edgeType", "EDGE_TYPE_UNKNOWN") in details(unknown)
    assert row_counts(database_url) == before
    data_of(_edge(client, writer, a, a, "related_to"))


def test_another_agents_edge_cannot_be_deleted_but_its_creator_and_an_admin_can(
    client: httpx.Client, database_url: str, writer: ApiKey, other: ApiKey, admin: ApiKey
) -> None:
    a, b, c = (new_claim(client, writer)["id"] for _ in range(3))
    first = data_of(_edge(client, writer, a, b, "supports"))["createEdge"]["id"]
    second = data_of(_edge(client, writer, a, c, "supports"))["createEdge"]["id"]
    before = row_counts(database_url)
    refused = gql(client, DELETE_EDGE, {"id": first}, headers=other.headers)
    assert error_codes(refused) == ["FORBIDDEN"]
    assert row_counts(database_url) == before
    data_of(gql(client, DELETE_EDGE, {"id": first}, headers=writer.headers))
    data_of(gql(client, DELETE_EDGE, {"id": second}, headers=admin.headers))
    with psycopg.connect(database_url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM edges WHERE id = ANY(%s::uuid[])", ([first, second],)
        ).fetchone()
    assert left == (0,)


def test_a_second_review_by_the_same_reviewer_replaces_the_first(
    client: httpx.Client, database_url: str, writer: ApiKey
) -> None:
    claim = new_claim(client, writer)
    first = data_of(
        gql(
            client,
            CREATE_REVIEW,
            {"input": {"claimId": claim["id"], "verdict": "ENDORSE", "confidence": 0.9}},
            headers=writer.headers,
        )
    )["createReview"]
    second = data_of(
        gql(
            client,
            CREATE_REVIEW,
            {"input": {"claimId": claim["id"], "verdict": "DISPUTE", "confidence": 0.4}},
            headers=writer.headers,
        )
    )["createReview"]
    assert (first["replaced"], second["replaced"]) == (False, True)
    assert second["review"]["id"] == first["review"]["id"]
    assert second["review"]["verdict"] == "DISPUTE"
    with psycopg.connect(database_url) as conn:
        reviews = conn.execute(
            "SELECT verdict FROM reviews WHERE claim_id = %s", (claim["id"],)
        ).fetchall()
        replaced = conn.execute(
            "SELECT payload->>'replaced' FROM events WHERE type = 'review_created'"
            " AND payload->>'claim_id' = %s ORDER BY id",
            (claim["id"],),
        ).fetchall()
    assert reviews == [("dispute",)]
    assert replaced == [("false",), ("true",)]


def test_agents_and_edge_types_are_created_by_admins_only(
    client: httpx.Client, database_url: str, writer: ApiKey, admin: ApiKey
) -> None:
    agent = {"input": {"agentType": "HUMAN", "name": "Ada", "externalId": "0000-0001"}}
    create_agent = "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id name } }"
    assert error_codes(gql(client, create_agent, agent, headers=writer.headers)) == ["FORBIDDEN"]
    assert data_of(gql(client, create_agent, agent, headers=admin.headers))["createAgent"]["name"]
    name = unique_name("replicates").lower()
    edge_type = {"input": {"name": name, "category": "EVIDENTIAL", "inverseName": "replicated_by"}}
    create_type = (
        "mutation($input: CreateEdgeTypeInput!) { createEdgeType(input: $input) { name } }"
    )
    assert error_codes(gql(client, create_type, edge_type, headers=writer.headers)) == ["FORBIDDEN"]
    data_of(gql(client, create_type, edge_type, headers=admin.headers))
    assert error_codes(gql(client, create_type, edge_type, headers=admin.headers)) == ["CONFLICT"]


def test_create_source_records_the_calling_agent(client: httpx.Client, writer: ApiKey) -> None:
    source = data_of(
        gql(
            client,
            """mutation($input: CreateSourceInput!) {
                createSource(input: $input) { id externalRef submittedById } }""",
            {"input": {"sourceType": "PREPRINT", "externalRef": " arXiv:2401.00001 "}},
            headers=writer.headers,
        )
    )["createSource"]
    assert source["externalRef"] == "arXiv:2401.00001"
    assert source["submittedById"] == str(writer.agent_id)
