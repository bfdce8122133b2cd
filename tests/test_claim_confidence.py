"""Confidence is earned from others and weighed by trust, through GraphQL over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.factories import Factory
from tests.support import ApiKey, create_api_key, data_of, error_codes, gql

CONFIDENCE = """
query ($id: ID!) {
  claim(id: $id) {
    weighted: confidence { model reviewCount selfReviewCount endorsementCount
      meanEndorsementConfidence endorsementWeight disputeWeight epistemicStatus }
    simple: confidence(model: SIMPLE) { model meanEndorsementConfidence endorsementWeight
      epistemicStatus }
  }
}
"""

CREATE_REVIEW = """mutation($input: CreateReviewInput!) {
  createReview(input: $input) { review { id } } }"""
WITHDRAW = "mutation($id: ID!) { withdrawReview(id: $id) { id verdict } }"


@pytest.fixture(scope="module")
def make(database_url: str) -> Iterator[Factory]:
    factory = Factory(database_url)
    yield factory
    factory.close()


def confidence_of(client: httpx.Client, claim: UUID) -> dict[str, Any]:
    found: dict[str, Any] = data_of(gql(client, CONFIDENCE, {"id": str(claim)}))["claim"]
    return found


def test_a_self_review_is_shown_but_does_not_move_the_epistemic_status(
    client: httpx.Client, make: Factory
) -> None:
    bot = make.agent("ingestion bot", "pipeline")
    claim = make.claim("the bot's claim", created_by=bot)
    make.review(claim, bot, "endorse", 0.95)
    found = confidence_of(client, claim)["weighted"]
    assert (found["reviewCount"], found["selfReviewCount"], found["endorsementCount"]) == (1, 1, 0)
    assert found["epistemicStatus"] == "UNVERIFIED"


def test_reviews_by_an_agent_the_creator_owns_or_by_its_owner_are_self_reviews(
    client: httpx.Client, make: Factory
) -> None:
    person = make.agent("a scientist")
    her_bot = make.agent("her bot", "ai", owned_by=person)
    by_person = make.claim("written by the scientist", created_by=person)
    by_bot = make.claim("written by her bot", created_by=her_bot)
    make.review(by_person, her_bot, "endorse", 0.9)
    make.review(by_bot, person, "endorse", 0.9)
    for claim in (by_person, by_bot):
        found = confidence_of(client, claim)["weighted"]
        assert (found["selfReviewCount"], found["epistemicStatus"]) == (1, "UNVERIFIED")


def test_a_trust_0_2_endorsement_weighs_a_fifth_of_a_trust_1_0_one(
    client: httpx.Client, make: Factory
) -> None:
    trusted = make.agent("trusted", trust_score=1.0)
    doubtful = make.agent("doubtful", trust_score=0.2)
    by_trusted = make.claim("endorsed by the trusted reviewer")
    by_doubtful = make.claim("endorsed by the doubtful reviewer")
    make.review(by_trusted, trusted, "endorse", 0.9)
    make.review(by_doubtful, doubtful, "endorse", 0.9)
    heavy = confidence_of(client, by_trusted)["weighted"]["endorsementWeight"]
    light = confidence_of(client, by_doubtful)["weighted"]["endorsementWeight"]
    # endorsementWeight = sum of trustScore * confidence: 1.0 * 0.9 and 0.2 * 0.9.
    assert (heavy, light) == (0.9, 0.18)
    assert light * 5 == pytest.approx(heavy)


def test_trust_weighted_and_simple_models_follow_the_documented_formula(
    client: httpx.Client, make: Factory
) -> None:
    claim = make.claim("reviewed by two of unequal trust")
    make.review(claim, make.agent("t1", trust_score=1.0), "endorse", 0.9)
    make.review(claim, make.agent("t02", trust_score=0.2), "endorse", 0.4)
    found = confidence_of(client, claim)
    # Weighted mean = (1.0 * 0.9 + 0.2 * 0.4) / (1.0 + 0.2) = 0.98 / 1.2 = 0.816667 (6 s.f.).
    assert found["weighted"] == {
        "model": "TRUST_WEIGHTED",
        "reviewCount": 2,
        "selfReviewCount": 0,
        "endorsementCount": 2,
        "meanEndorsementConfidence": 0.816667,
        "endorsementWeight": 0.98,
        "disputeWeight": 0.0,
        "epistemicStatus": "ENDORSED",
    }
    # Simple mean = (0.9 + 0.4) / 2 = 0.65: not above 0.7.
    assert found["simple"] == {
        "model": "SIMPLE",
        "meanEndorsementConfidence": 0.65,
        "endorsementWeight": 1.3,
        "epistemicStatus": "UNDER_REVIEW",
    }


def test_floats_are_rounded_where_they_are_computed(client: httpx.Client, make: Factory) -> None:
    claim = make.claim("two endorsements whose float mean is not exact")
    make.review(claim, make.agent("r1"), "endorse", 0.8)
    make.review(claim, make.agent("r2"), "endorse", 0.9)
    found = confidence_of(client, claim)
    assert found["weighted"]["meanEndorsementConfidence"] == 0.85
    assert found["simple"]["meanEndorsementConfidence"] == 0.85


def test_a_review_is_withdrawn_by_its_author_only(
    client: httpx.Client, database_url: str, make: Factory
) -> None:
    author = create_api_key(database_url, ["reviews:write"])
    stranger = create_api_key(database_url, ["reviews:write"])
    claim = make.claim("a claim reviewed then withdrawn")
    review_id = data_of(
        gql(
            client,
            CREATE_REVIEW,
            {"input": {"claimId": str(claim), "verdict": "ENDORSE", "confidence": 0.9}},
            headers=author.headers,
        )
    )["createReview"]["review"]["id"]
    assert confidence_of(client, claim)["weighted"]["epistemicStatus"] == "ENDORSED"

    refused = gql(client, WITHDRAW, {"id": review_id}, headers=stranger.headers)
    assert error_codes(refused) == ["FORBIDDEN"]
    assert confidence_of(client, claim)["weighted"]["reviewCount"] == 1

    withdrawn = data_of(gql(client, WITHDRAW, {"id": review_id}, headers=author.headers))
    assert withdrawn["withdrawReview"] == {"id": review_id, "verdict": "ENDORSE"}
    after = confidence_of(client, claim)["weighted"]
    assert (after["reviewCount"], after["epistemicStatus"]) == (0, "UNVERIFIED")
    again = gql(client, WITHDRAW, {"id": review_id}, headers=author.headers)
    assert error_codes(again) == ["NOT_FOUND"]
    bad = gql(client, WITHDRAW, {"id": "not-a-uuid"}, headers=author.headers)
    assert error_codes(bad) == ["VALIDATION_FAILED"]


def test_create_agent_names_its_owner(client: httpx.Client, database_url: str) -> None:
    admin: ApiKey = create_api_key(database_url, ["admin"])
    query = """mutation($input: CreateAgentInput!) {
      createAgent(input: $input) { id ownedById } }"""
    owned = data_of(
        gql(
            client,
            query,
            {"input": {"agentType": "AI", "name": "a bot", "ownedBy": str(admin.agent_id)}},
            headers=admin.headers,
        )
    )["createAgent"]
    assert owned["ownedById"] == str(admin.agent_id)
    unknown = gql(
        client,
        query,
        {"input": {"agentType": "AI", "name": "a bot", "ownedBy": str(UUID(int=7))}},
        headers=admin.headers,
    )
    assert error_codes(unknown) == ["VALIDATION_FAILED"]
