"""The idempotency hash of a bundle body: equal bodies hash equal, and a key's replay
still matches a bundle stored with the first form of the hash."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict
from typing import Any

import httpx
import psycopg
import pytest

from phiacta.ingest.spec import bundle_from_json, legacy_request_hash, request_hash
from tests.support import ApiKey, create_api_key, data_of, error_codes
from tests.write_support import bundle, row_counts, submit


def _rich_body() -> dict[str, Any]:
    body = bundle(3, attrs={"z": 1, "a": [1, 2.5, "é"]})
    body["claims"][0]["attrs"] = {"b": {"nested": None}}
    body["edges"][0]["target"] = {"externalRef": "10.1000/xyz"}
    body["artifacts"] = [
        {
            "artifactType": "TABLE",
            "tempId": "t0",
            "structuredData": {"rows": [[1, 2], [3, 4]]},
            "claimTempIds": ["c0", "c2"],
        }
    ]
    return body


def _fields_of(spec: Any) -> dict[str, Any]:
    """The body's fields; a claim without a reading position and a source without
    further identifiers are hashed without those keys, as bundles stored before they
    existed were."""
    fields = asdict(spec)
    for claim in fields["claims"]:
        if claim["position"] is None:
            del claim["position"]
    if not fields["source"]["identifiers"]:
        del fields["source"]["identifiers"]
    return fields


def test_the_hash_is_sha256_of_the_canonical_json_of_the_whole_body() -> None:
    spec = bundle_from_json(_rich_body())

    canonical = json.dumps(
        _fields_of(spec), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert request_hash(spec) == hashlib.sha256(canonical.encode()).hexdigest()


def test_the_first_form_is_ascii_escaped_json_of_the_standard_library() -> None:
    spec = bundle_from_json(_rich_body())

    canonical = json.dumps(_fields_of(spec), sort_keys=True, separators=(",", ":"), default=str)
    assert legacy_request_hash(spec) == hashlib.sha256(canonical.encode()).hexdigest()


def test_a_reading_position_is_part_of_the_hash() -> None:
    body = bundle(2)
    placed = copy.deepcopy(body)
    placed["claims"][1]["position"] = {"paragraphIndex": 4}
    assert request_hash(bundle_from_json(body)) != request_hash(bundle_from_json(placed))


def test_an_integer_beyond_64_bits_hashes_in_the_first_form() -> None:
    spec = bundle_from_json(bundle(2, attrs={"big": 2**70}))
    assert request_hash(spec) == legacy_request_hash(spec)


def test_equal_bodies_hash_equal_and_any_change_changes_the_hash() -> None:
    body = bundle(2)
    changed = json.loads(json.dumps(body))
    changed["claims"][1]["confidence"] = 0.5

    assert request_hash(bundle_from_json(body)) == request_hash(bundle_from_json(body))
    assert request_hash(bundle_from_json(body)) != request_hash(bundle_from_json(changed))


@pytest.fixture(scope="module")
def bot(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["bundles:write"])


def test_a_bundle_stored_with_the_first_form_still_replays_and_conflicts(
    client: httpx.Client, database_url: str, bot: ApiKey
) -> None:
    body = _rich_body()
    first = data_of(submit(client, body, bot.headers))["submitBundle"]
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE bundles SET request_hash = %s WHERE id = %s",
            (legacy_request_hash(bundle_from_json(body)), first["bundleId"]),
        )
    before = row_counts(database_url)

    again = data_of(submit(client, body, bot.headers))["submitBundle"]
    assert again["replayed"] is True and again["bundleId"] == first["bundleId"]
    other = copy.deepcopy(body)
    other["claims"][0]["content"] = "something else entirely"
    assert error_codes(submit(client, other, bot.headers)) == ["IDEMPOTENCY_CONFLICT"]
    assert row_counts(database_url) == before
