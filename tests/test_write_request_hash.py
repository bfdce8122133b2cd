"""The idempotency hash of a bundle body: stable across releases, so a key's replay still
matches the hash stored when the bundle was first written."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from phiacta.ingest.spec import bundle_from_json, request_hash
from tests.write_support import bundle


def test_the_hash_is_sha256_of_the_canonical_json_of_the_whole_body() -> None:
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
    spec = bundle_from_json(body)

    canonical = json.dumps(asdict(spec), sort_keys=True, separators=(",", ":"), default=str)
    assert request_hash(spec) == hashlib.sha256(canonical.encode()).hexdigest()


def test_equal_bodies_hash_equal_and_any_change_changes_the_hash() -> None:
    body = bundle(2)
    changed = json.loads(json.dumps(body))
    changed["claims"][1]["confidence"] = 0.5

    assert request_hash(bundle_from_json(body)) == request_hash(bundle_from_json(body))
    assert request_hash(bundle_from_json(body)) != request_hash(bundle_from_json(changed))
