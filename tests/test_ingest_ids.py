"""The ids a bundle gives its claims, edges and pending references."""

from __future__ import annotations

import uuid

from phiacta.ingest.submit import ascending_ids, random_ids


def test_random_ids_are_version_4_uuids_and_all_different() -> None:
    ids = random_ids(1000)
    assert len(set(ids)) == 1000
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
    assert random_ids(0) == []


def test_claim_ids_ascend_in_submission_order() -> None:
    ids = ascending_ids(500)
    assert ids == sorted(ids) and len(set(ids)) == 500
