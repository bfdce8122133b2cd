"""Writes move the ingest counters on `/metrics`: a submitted bundle counts once with its
claims, a replayed one not at all, and createClaim counts its claim."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import ApiKey, create_api_key, data_of, gql
from tests.write_support import bundle, submit

BUNDLES = "phiacta_bundles_submitted_total"
CLAIMS = "phiacta_claims_ingested_total"


@pytest.fixture(scope="module")
def writer(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["bundles:write", "claims:write"])


def counters(client: httpx.Client) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name in (BUNDLES, CLAIMS)
    }


def test_a_submitted_bundle_counts_once_with_its_claims_and_its_replay_not_at_all(
    client: httpx.Client, writer: ApiKey
) -> None:
    body = bundle(4)
    before = counters(client)

    data_of(submit(client, body, writer.headers))
    after = counters(client)
    replayed = data_of(submit(client, body, writer.headers))["submitBundle"]["replayed"]

    assert after[BUNDLES] - before[BUNDLES] == 1
    assert after[CLAIMS] - before[CLAIMS] == 4
    assert replayed is True
    assert counters(client) == after


def test_create_claim_counts_one_claim_ingested(client: httpx.Client, writer: ApiKey) -> None:
    before = counters(client)

    data_of(
        gql(
            client,
            "mutation($c: String!) { createClaim(input: {content: $c}) { id } }",
            {"c": "a claim counted on /metrics"},
            headers=writer.headers,
        )
    )

    after = counters(client)
    assert after[CLAIMS] - before[CLAIMS] == 1
    assert after[BUNDLES] == before[BUNDLES]
