"""submitBundle through GraphQL over HTTP: atomic, validated all at once, idempotent."""

from __future__ import annotations

import copy
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import ApiKey, create_api_key, data_of, error_codes, unique_name
from tests.write_support import bundle, details, row_counts, submit


@pytest.fixture(scope="module")
def bot(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["bundles:write"])


def _with_edge(body: dict[str, Any], edge: dict[str, Any]) -> dict[str, Any]:
    body["edges"] = [*body["edges"], edge]
    return body


def _bad_bodies() -> dict[str, tuple[dict[str, Any], tuple[str, str]]]:
    def changed(change: Any) -> dict[str, Any]:
        body = bundle(3)
        change(body)
        return body

    return {
        "empty content": (
            changed(lambda b: b["claims"][1].update(content="   ")),
            ("claims[1].content", "INVALID_VALUE"),
        ),
        "content over 10,000 characters": (
            changed(lambda b: b["claims"][2].update(content="x" * 10_001)),
            ("claims[2].content", "LIMIT_EXCEEDED"),
        ),
        "501 claims": (bundle(501), ("claims", "LIMIT_EXCEEDED")),
        "unknown edge type": (
            changed(lambda b: b["edges"][0].update(edgeType="vaguely_resembles")),
            ("edges[0].edgeType", "EDGE_TYPE_UNKNOWN"),
        ),
        "unresolved temp id": (
            changed(lambda b: b["edges"][1].update(target={"tempId": "nowhere"})),
            ("edges[1].target.tempId", "TEMP_ID_UNRESOLVED"),
        ),
        "duplicate temp id": (
            changed(lambda b: b["claims"][2].update(tempId="c1")),
            ("claims[2].tempId", "DUPLICATE_TEMP_ID"),
        ),
        "an edge naming two targets": (
            changed(
                lambda b: b["edges"][0].update(
                    target={"tempId": "c1", "externalRef": "10.1000/two"}
                )
            ),
            ("edges[0].target", "INVALID_VALUE"),
        ),
        "a missing namespace": (
            changed(lambda b: b["claims"][0].update(namespace="no.such.place")),
            ("claims[0].namespace", "NAMESPACE_NOT_FOUND"),
        ),
        "a non-UUID claim id": (
            changed(lambda b: b["edges"][0].update(target={"claimId": "not-a-uuid"})),
            ("edges[0].target.claimId", "INVALID_VALUE"),
        ),
        "an unknown claim id": (
            changed(lambda b: b["edges"][0].update(target={"claimId": str(uuid.uuid4())})),
            ("edges[0].target.claimId", "NOT_FOUND"),
        ),
        "a self-loop of an anti-reflexive type": (
            changed(lambda b: b["edges"][0].update(target={"tempId": "c0"})),
            ("edges[0].target", "INVALID_VALUE"),
        ),
        # Found only inside the writing transaction, once references are resolved.
        "an external reference resolving to the edge's own source claim": (
            changed(
                lambda b: (
                    b["source"].update(externalRef="10.1000/self"),
                    b["edges"][0].update(target={"externalRef": "10.1000/self"}),
                )
            ),
            ("edges[0].target", "INVALID_VALUE"),
        ),
        "an external reference as edge source": (
            changed(lambda b: b["edges"][0].update(source={"externalRef": "10.1/x"})),
            ("edges[0].source.externalRef", "INVALID_VALUE"),
        ),
    }


BAD_BODIES = _bad_bodies()


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_bundle_gets_its_coded_error_with_path_and_writes_nothing(
    client: httpx.Client, database_url: str, bot: ApiKey, case: str
) -> None:
    body, expected = BAD_BODIES[case]
    before = row_counts(database_url)
    answer = submit(client, copy.deepcopy(body), bot.headers)
    assert error_codes(answer) == ["VALIDATION_FAILED"]
    assert expected in details(answer)
    assert row_counts(database_url) == before


def test_every_problem_of_a_bundle_is_reported_at_once(
    client: httpx.Client, database_url: str, bot: ApiKey
) -> None:
    body = bundle(4)
    body["claims"][3]["content"] = ""
    body["claims"][2]["tempId"] = "c1"
    body["edges"][0]["edgeType"] = "nope"
    body["edges"][1]["target"] = {"tempId": "missing"}
    before = row_counts(database_url)
    found = details(submit(client, body, bot.headers))
    assert {
        ("claims[3].content", "INVALID_VALUE"),
        ("claims[2].tempId", "DUPLICATE_TEMP_ID"),
        ("edges[0].edgeType", "EDGE_TYPE_UNKNOWN"),
        ("edges[1].target.tempId", "TEMP_ID_UNRESOLVED"),
    } <= set(found)
    assert row_counts(database_url) == before


def test_bundle_writes_source_claims_provenance_edges_artifacts_and_events(
    client: httpx.Client, database_url: str, bot: ApiKey
) -> None:
    body = bundle(3, extensionId="paper-bot", namespace="bio.immunology", createNamespaces=True)
    body["claims"].append({"tempId": "lonely", "content": f"an unlinked {uuid.uuid4()}"})
    body["artifacts"] = [{"tempId": "fig1", "artifactType": "FIGURE", "claimTempIds": ["c0", "c1"]}]
    result = data_of(submit(client, body, bot.headers))["submitBundle"]
    ids = {m["tempId"]: m["id"] for m in result["claims"]}
    assert set(ids) == {"c0", "c1", "c2", "lonely"} and not result["replayed"]
    assert [m["tempId"] for m in result["artifacts"]] == ["fig1"]
    assert all(result["edgeIds"])
    assert [(w["path"], w["code"]) for w in result["warnings"]] == [("claims[3]", "NO_EDGES")]
    with psycopg.connect(database_url) as conn:
        claims = conn.execute(
            "SELECT c.id::text, c.version, c.lineage_id = c.id, c.created_by, p.confidence,"
            " p.extracted_by, p.source_id::text"
            " FROM claims c JOIN provenance p ON p.claim_id = c.id"
            " WHERE c.id = ANY(%s::uuid[])",
            (list(ids.values()),),
        ).fetchall()
        assert len(claims) == 4
        assert {(r[1], r[2], r[3], r[5], r[6]) for r in claims} == {
            (1, True, bot.agent_id, bot.agent_id, result["sourceId"])
        }
        assert {r[4] for r in claims} == {0.9, None}
        bundle_row = conn.execute(
            "SELECT status, claim_count, edge_count, artifact_count, extension_id,"
            " submitted_by FROM bundles WHERE id = %s",
            (result["bundleId"],),
        ).fetchone()
        assert bundle_row == ("accepted", 4, 2, 1, "paper-bot", bot.agent_id)
        links = conn.execute(
            "SELECT count(*) FROM artifact_claims WHERE artifact_id = %s",
            (result["artifacts"][0]["id"],),
        ).fetchone()
        assert links == (2,)
        events = conn.execute(
            "SELECT type, count(*) FROM events"
            " WHERE payload->>'bundle_id' = %s OR payload->>'edge_id' = ANY(%s)"
            " GROUP BY type ORDER BY type",
            (result["bundleId"], result["edgeIds"]),
        ).fetchall()
        assert events == [("bundle_accepted", 1), ("claim_created", 4), ("edge_created", 2)]
        namespace = conn.execute(
            "SELECT count(DISTINCT namespace_id) FROM claims WHERE id = ANY(%s::uuid[])",
            (list(ids.values()),),
        ).fetchone()
        assert namespace == (1,)


def test_same_key_and_body_returns_the_stored_response_and_writes_nothing(
    client: httpx.Client, database_url: str, bot: ApiKey
) -> None:
    body = bundle(3)
    first = data_of(submit(client, body, bot.headers))["submitBundle"]
    before = row_counts(database_url)
    again = data_of(submit(client, body, bot.headers))["submitBundle"]
    assert again["replayed"] is True
    assert {**again, "replayed": False} == first
    assert row_counts(database_url) == before


def test_same_key_with_another_body_is_an_idempotency_conflict(
    client: httpx.Client, database_url: str, bot: ApiKey
) -> None:
    body = bundle(2)
    data_of(submit(client, body, bot.headers))
    before = row_counts(database_url)
    other = copy.deepcopy(body)
    other["claims"][0]["content"] = "something else entirely"
    assert error_codes(submit(client, other, bot.headers)) == ["IDEMPOTENCY_CONFLICT"]
    assert row_counts(database_url) == before


def test_the_same_key_from_another_agent_is_another_bundle(
    client: httpx.Client, database_url: str, bot: ApiKey
) -> None:
    body = bundle(2)
    other_bot = create_api_key(database_url, ["bundles:write"])
    first = data_of(submit(client, body, bot.headers))["submitBundle"]
    second = data_of(submit(client, body, other_bot.headers))["submitBundle"]
    assert first["bundleId"] != second["bundleId"] and not second["replayed"]


def test_twenty_concurrent_submissions_of_one_key_make_one_bundle(
    server: Any, database_url: str, bot: ApiKey
) -> None:
    body = bundle(5)

    def send(_: int) -> dict[str, Any]:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            return data_of(submit(http, body, bot.headers))["submitBundle"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(send, range(20)))
    assert len({a["bundleId"] for a in answers}) == 1
    assert sum(1 for a in answers if not a["replayed"]) == 1
    with psycopg.connect(database_url) as conn:
        bundles = conn.execute(
            "SELECT count(*) FROM bundles WHERE submitted_by = %s AND idempotency_key = %s",
            (bot.agent_id, body["idempotencyKey"]),
        ).fetchone()
        claims = conn.execute(
            "SELECT count(*) FROM claims WHERE content LIKE %s",
            (body["claims"][0]["content"].replace("claim 0", "claim %"),),
        ).fetchone()
    assert bundles == (1,)
    assert claims == (5,)


def _pending_pair(doi: str) -> tuple[dict[str, Any], dict[str, Any]]:
    citing = bundle(2)
    citing["edges"].append(
        {"source": {"tempId": "c1"}, "target": {"externalRef": doi}, "edgeType": "supports"}
    )
    cited = bundle(2, source={"sourceType": "PAPER", "title": "cited", "externalRef": doi})
    return citing, cited


def _edge_between(database_url: str, source_id: str, target_id: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT edge_type, created_by FROM edges WHERE source_id = %s AND target_id = %s",
            (source_id, target_id),
        ).fetchall()


def test_pending_reference_is_resolved_when_a_later_bundle_brings_that_doi(
    client: httpx.Client, database_url: str, bot: ApiKey
) -> None:
    doi = f"10.5555/{unique_name('later')}"
    citing, cited = _pending_pair(doi)
    first = data_of(submit(client, citing, bot.headers))["submitBundle"]
    (left,) = first["pendingReferences"]
    assert (left["claimTempId"], left["externalRef"], first["edgeIds"][-1]) == ("c1", doi, None)
    second = data_of(submit(client, cited, bot.headers))["submitBundle"]
    (resolved,) = second["resolvedReferences"]
    cited_first = second["claims"][0]["id"]
    assert (resolved["id"], resolved["resolvedToId"]) == (left["id"], cited_first)
    assert _edge_between(database_url, left["claimId"], cited_first) == [("supports", bot.agent_id)]
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT status, resolved_to::text FROM pending_references WHERE id = %s",
            (left["id"],),
        ).fetchone()
        event = conn.execute(
            "SELECT payload->>'edge_id' FROM events"
            " WHERE type = 'pending_reference_resolved' AND payload->>'pending_reference_id' = %s",
            (left["id"],),
        ).fetchone()
    assert row == ("resolved", cited_first)
    assert event == (resolved["edgeId"],)


def test_reference_to_a_doi_already_present_links_directly(
    client: httpx.Client, database_url: str, bot: ApiKey
) -> None:
    doi = f"10.5555/{unique_name('earlier')}"
    citing, cited = _pending_pair(doi)
    second = data_of(submit(client, cited, bot.headers))["submitBundle"]
    first = data_of(submit(client, citing, bot.headers))["submitBundle"]
    assert first["pendingReferences"] == []
    assert first["edgeIds"][-1] is not None
    citing_claim = first["claims"][1]["id"]
    assert _edge_between(database_url, citing_claim, second["claims"][0]["id"]) == [
        ("supports", bot.agent_id)
    ]


def test_symmetric_edges_in_both_directions_are_stored_once(
    client: httpx.Client, database_url: str, bot: ApiKey
) -> None:
    body = bundle(2)
    body["edges"] = [
        {"source": {"tempId": "c0"}, "target": {"tempId": "c1"}, "edgeType": "contradicts"},
        {"source": {"tempId": "c1"}, "target": {"tempId": "c0"}, "edgeType": "contradicts"},
    ]
    result = data_of(submit(client, body, bot.headers))["submitBundle"]
    assert result["edgeIds"][0] is not None and result["edgeIds"][1] is None
    ids = [m["id"] for m in result["claims"]]
    with psycopg.connect(database_url) as conn:
        count = conn.execute(
            "SELECT count(*) FROM edges WHERE source_id = ANY(%s::uuid[])"
            " AND target_id = ANY(%s::uuid[])",
            (ids, ids),
        ).fetchone()
    assert count == (1,)


def test_near_duplicate_of_an_existing_claim_is_a_warning(
    client: httpx.Client, bot: ApiKey
) -> None:
    text = f"Aspirin lowers the risk of a first heart attack in adults over 50 ({uuid.uuid4()})"
    first = bundle(1)
    first["claims"][0]["content"] = text
    data_of(submit(client, first, bot.headers))
    again = bundle(1)
    again["claims"][0]["content"] = text.replace("lowers", "reduces")
    result = data_of(submit(client, again, bot.headers))["submitBundle"]
    near = [w for w in result["warnings"] if w["code"] == "NEAR_DUPLICATE"]
    assert len(near) == 1 and near[0]["path"] == "claims[0].content"
    assert near[0]["similarity"] >= 0.92


def test_submitting_a_bundle_needs_the_bundles_write_scope(
    client: httpx.Client, database_url: str
) -> None:
    reader = create_api_key(database_url, ["claims:read", "claims:write"])
    before = row_counts(database_url)
    assert error_codes(submit(client, bundle(1), reader.headers)) == ["FORBIDDEN"]
    assert error_codes(submit(client, bundle(1), {})) == ["UNAUTHENTICATED"]
    assert row_counts(database_url) == before
