"""Reads people ask for: claims by many ids, search pages, richer filters, facets."""

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


BY_IDS = "query ($ids: [ID!]!) { claimsByIds(ids: $ids) { id content } }"


def test_claims_by_ids_come_back_in_order_with_nulls_for_unknown_ones(
    client: httpx.Client, make: Factory
) -> None:
    a, b = make.claim("first of many"), make.claim("second of many")
    draft = make.claim("someone's draft", status="draft", created_by=make.agent("writer"))
    unknown = uuid.uuid4()
    ids = [str(b), str(unknown), str(a), str(draft), str(b)]
    found = data_of(gql(client, BY_IDS, {"ids": ids}))["claimsByIds"]
    assert [c and c["content"] for c in found] == [
        "second of many",
        None,
        "first of many",
        None,
        "second of many",
    ]


def test_claims_by_ids_refuses_bad_ids_with_their_paths_and_too_many(
    client: httpx.Client,
) -> None:
    bad = gql(client, BY_IDS, {"ids": [str(uuid.uuid4()), "nope", "x"]})
    assert error_codes(bad) == ["VALIDATION_FAILED"]
    paths = [d["path"] for d in bad["errors"][0]["extensions"]["details"]]
    assert paths == ["ids[1]", "ids[2]"]
    many = gql(client, BY_IDS, {"ids": [str(uuid.uuid4()) for _ in range(501)]})
    assert error_codes(many) == ["VALIDATION_FAILED"]


SEARCH = """query ($q: String!, $after: String, $f: ClaimFilter) {
  search(query: $q, mode: FULLTEXT, first: 4, after: $after, filter: $f) {
    hasNextPage endCursor hits { rank claim { content } } } }"""


def test_search_pages_with_after_until_the_last_hit(client: httpx.Client, make: Factory) -> None:
    word = f"zp{uuid.uuid4().hex[:10]}"
    for n in range(10):
        make.claim(f"{word} {n}")
    seen: list[str] = []
    ranks: list[int] = []
    after = None
    while True:
        page = data_of(gql(client, SEARCH, {"q": word, "after": after}))["search"]
        seen += [h["claim"]["content"] for h in page["hits"]]
        ranks += [h["rank"] for h in page["hits"]]
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    assert sorted(seen) == sorted(f"{word} {n}" for n in range(10))
    assert ranks == list(range(1, 11))
    bad = gql(client, SEARCH, {"q": word, "after": "garbage"})
    assert error_codes(bad) == ["VALIDATION_FAILED"]


LIST = """query ($f: ClaimFilter) { claims(filter: $f, first: 50) {
  totalCount edges { node { content } } } }"""


def contents(client: httpx.Client, filter: dict[str, Any]) -> set[str]:
    found = data_of(gql(client, LIST, {"f": filter}))["claims"]
    names = {e["node"]["content"].split()[0] for e in found["edges"]}
    assert found["totalCount"] == len(names)
    return names


@pytest.fixture(scope="module")
def reviewed(make: Factory) -> tuple[dict[str, str], dict[str, UUID]]:
    """endorsed (0.9), weak (endorsed at 0.5), disputed, theorem (unreviewed)."""
    marker = {"requested": uuid.uuid4().hex}
    reviewers = [make.agent(f"reviewer {n}") for n in range(2)]
    claims = {
        name: make.claim(
            f"{name} claim",
            attrs=marker,
            claim_type="theorem" if name == "theorem" else "assertion",
        )
        for name in ("endorsed", "weak", "disputed", "theorem")
    }
    make.review(claims["endorsed"], reviewers[0], "endorse", 0.9)
    make.review(claims["weak"], reviewers[0], "endorse", 0.5)
    make.review(claims["disputed"], reviewers[0], "endorse", 0.9)
    make.review(claims["disputed"], reviewers[1], "dispute", 0.9)
    return marker, claims


def test_filters_on_epistemic_status_and_minimum_confidence(
    client: httpx.Client, reviewed: tuple[dict[str, str], dict[str, UUID]]
) -> None:
    marker, _ = reviewed
    base: dict[str, Any] = {"attrs": marker}
    assert contents(client, base | {"epistemicStatuses": ["ENDORSED"]}) == {"endorsed"}
    assert contents(client, base | {"epistemicStatuses": ["UNVERIFIED", "DISPUTED"]}) == {
        "theorem",
        "disputed",
    }
    assert contents(client, base | {"minConfidence": 0.8}) == {"endorsed", "disputed"}
    bad = gql(client, LIST, {"f": base | {"minConfidence": 1.5}})
    assert error_codes(bad) == ["VALIDATION_FAILED"]


def test_or_and_not_combine_filters(
    client: httpx.Client, reviewed: tuple[dict[str, str], dict[str, UUID]]
) -> None:
    marker, _ = reviewed
    base: dict[str, Any] = {"attrs": marker}
    either = {"or": [{"claimTypes": ["THEOREM"]}, {"epistemicStatuses": ["DISPUTED"]}]}
    assert contents(client, base | either) == {"theorem", "disputed"}
    assert contents(client, base | {"not": either}) == {"endorsed", "weak"}
    nested = {"not": {"or": [{"claimTypes": ["THEOREM"]}, {"not": {"minConfidence": 0.8}}]}}
    assert contents(client, base | nested) == {"endorsed", "disputed"}
    too_deep: dict[str, Any] = {"not": {"not": {"not": {"not": {"claimTypes": ["THEOREM"]}}}}}
    assert error_codes(gql(client, LIST, {"f": base | too_deep})) == ["VALIDATION_FAILED"]


FACETS = """query ($f: ClaimFilter, $limit: Int) { claimFacets(filter: $f, limit: $limit) {
  total truncated namespaces { value count } claimTypes { value count }
  statuses { value count } epistemicStatuses { value count } } }"""


def test_facets_count_the_matching_claims_by_each_dimension(
    client: httpx.Client, make: Factory, reviewed: tuple[dict[str, str], dict[str, UUID]]
) -> None:
    marker, _ = reviewed
    found = data_of(gql(client, FACETS, {"f": {"attrs": marker}}))["claimFacets"]
    assert (found["total"], found["truncated"]) == (4, False)
    assert found["namespaces"] == [{"value": None, "count": 4}]
    assert found["claimTypes"] == [
        {"value": "assertion", "count": 3},
        {"value": "theorem", "count": 1},
    ]
    assert found["statuses"] == [{"value": "active", "count": 4}]
    assert {f["value"]: f["count"] for f in found["epistemicStatuses"]} == {
        "endorsed": 1,
        "under_review": 1,
        "disputed": 1,
        "unverified": 1,
    }
    partial = data_of(gql(client, FACETS, {"f": {"attrs": marker}, "limit": 3}))["claimFacets"]
    assert (partial["total"], partial["truncated"]) == (3, True)
    over = gql(client, FACETS, {"f": {"attrs": marker}, "limit": 20_001})
    assert error_codes(over) in (["VALIDATION_FAILED"], ["LIMIT_EXCEEDED"])
