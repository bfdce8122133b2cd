"""The SDK against a live server: every method, typed results and typed errors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from phiacta.sdk import (
    AuthenticationError,
    BundleClaim,
    BundleEdge,
    BundleInput,
    BundleSource,
    ClaimFilter,
    ClaimRef,
    Conflict,
    IdempotencyConflict,
    NotFound,
    PermissionDenied,
    PhiactaClient,
    ValidationFailed,
)
from tests.support import ApiKey, LiveServer, create_api_key, unique_name

WRITER_SCOPES = ["bundles:write", "claims:read", "claims:write", "reviews:write"]


@pytest.fixture(scope="module")
def writer(database_url: str) -> ApiKey:
    return create_api_key(database_url, WRITER_SCOPES)


@pytest.fixture(scope="module")
def reviewer(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["reviews:write", "claims:read"])


@pytest.fixture
async def phiacta(server: LiveServer, writer: ApiKey) -> AsyncIterator[PhiactaClient]:
    async with PhiactaClient(server.url, writer.raw, max_retries=2) as client:
        yield client


def paper(tag: str, *, claims: int = 2, edges: bool = True) -> BundleInput:
    """A bundle of `claims` claims mentioning `tag`; c0 supports c1 when `edges`."""
    return BundleInput(
        source=BundleSource("paper", title=f"paper {tag}", external_ref=f"10.5555/{tag}"),
        claims=[
            BundleClaim(f"c{i}", f"Finding {i} about {tag}: 3.14 mg works", attrs={"tag": tag})
            for i in range(claims)
        ],
        edges=[BundleEdge("c0", "c1", "supports", strength=0.8)] if edges and claims > 1 else [],
    )


async def test_a_typed_bundle_is_written_once_and_its_claims_read_back(
    phiacta: PhiactaClient,
) -> None:
    tag = unique_name("bundle")
    bundle = paper(tag)
    first = await phiacta.submit_bundle(bundle, idempotency_key=f"key-{tag}")
    assert not first.replayed
    assert set(first.claims) == {"c0", "c1"}
    assert first.idempotency_key == f"key-{tag}"
    assert first.edge_ids[0] is not None
    again = await phiacta.submit_bundle(bundle, idempotency_key=f"key-{tag}")
    assert again.replayed
    assert again.claims == first.claims and again.bundle_id == first.bundle_id

    claim = await phiacta.claim(first.claims["c0"])
    assert claim is not None
    assert claim.content == f"Finding 0 about {tag}: 3.14 mg works"
    assert claim.claim_type == "ASSERTION" and claim.version == 1 and claim.is_latest
    assert claim.attrs == {"tag": tag}
    assert claim.confidence.epistemic_status == "UNVERIFIED"
    assert await phiacta.claim(uuid.uuid4()) is None


async def test_a_mapping_bundle_without_a_key_gets_one_made_up(phiacta: PhiactaClient) -> None:
    tag = unique_name("mapping")
    result = await phiacta.submit_bundle(
        {
            "source": {"sourceType": "MANUAL_ENTRY", "title": tag},
            "claims": [{"tempId": "only", "content": f"A lone claim {tag}"}],
        }
    )
    assert result.idempotency_key and not result.replayed
    assert list(result.claims) == ["only"]


async def test_claims_iterates_over_every_page(phiacta: PhiactaClient) -> None:
    tag = unique_name("pages")
    written = await phiacta.submit_bundle(paper(tag, claims=5, edges=False))
    only_these = ClaimFilter(attrs={"tag": tag})
    seen = [claim.id async for claim in phiacta.claims(only_these, page_size=2)]
    assert sorted(seen) == sorted(written.claims.values())
    page = await phiacta.claims_page({"attrs": {"tag": tag}}, first=2)
    assert page.total_count == 5 and len(page.items) == 2 and page.page_info.has_next_page


async def test_search_traverse_path_and_evidence_return_typed_results(
    phiacta: PhiactaClient,
) -> None:
    tag = unique_name("graph")
    ids = (await phiacta.submit_bundle(paper(tag))).claims
    hits = await phiacta.search(tag, "fulltext", filter=ClaimFilter(attrs={"tag": tag}))
    assert {hit.claim.id for hit in hits} == set(ids.values())
    assert [hit.rank for hit in hits] == [1, 2] and all(hit.snippet for hit in hits)

    walk = await phiacta.traverse(ids["c0"], edge_types=["supports"])
    assert walk.start.id == ids["c0"]
    assert [(n.claim.id, n.depth) for n in walk.nodes] == [(ids["c0"], 0), (ids["c1"], 1)]
    assert walk.nodes[1].via is not None and walk.nodes[1].via.strength == 0.8
    assert not walk.truncated

    path = await phiacta.path(ids["c0"], ids["c1"], direction="outgoing")
    assert path is not None and path.length == 1
    assert [c.id for c in path.claims] == [ids["c0"], ids["c1"]]
    assert path.edges[0].edge_type == "supports"
    assert await phiacta.path(ids["c1"], ids["c0"], direction="OUTGOING") is None

    evidence = await phiacta.evidence(ids["c1"])
    assert [item.claim.id for item in evidence.supporting] == [ids["c0"]]
    assert evidence.summary.supporting_count == 1 and evidence.summary.net_support == 1.0


async def test_review_and_revise(
    phiacta: PhiactaClient, server: LiveServer, reviewer: ApiKey
) -> None:
    tag = unique_name("judged")
    ids = (await phiacta.submit_bundle(paper(tag))).claims
    async with PhiactaClient(server.url, reviewer.raw) as other:
        first = await other.review(ids["c1"], "endorse", confidence=0.9, comment="checked")
        second = await other.review(ids["c1"], "ENDORSE", confidence=0.95)
    assert first.review.verdict == "ENDORSE" and first.review.comment == "checked"
    assert not first.replaced and second.replaced
    judged = await phiacta.claim(ids["c1"])
    assert judged is not None and judged.confidence.endorsement_count == 1

    revised = await phiacta.revise(ids["c0"], content=f"Finding 0 about {tag}: 3.15 mg works")
    assert revised.version == 2 and revised.supersedes_id == ids["c0"]
    assert revised.lineage_id == (await phiacta.claim(ids["c0"])).lineage_id  # type: ignore[union-attr]


async def test_execute_returns_the_data_of_any_document(phiacta: PhiactaClient) -> None:
    data = await phiacta.execute("query { edgeTypes { name } }")
    assert "supports" in {t["name"] for t in data["edgeTypes"]}


async def test_a_bad_key_is_an_authentication_error(server: LiveServer) -> None:
    async with PhiactaClient(server.url, "phk_nope_nope") as stranger:
        with pytest.raises(AuthenticationError) as raised:
            await stranger.claim(uuid.uuid4())
    assert raised.value.code == "UNAUTHENTICATED" and raised.value.request_id


async def test_a_missing_scope_is_permission_denied(server: LiveServer, reviewer: ApiKey) -> None:
    async with PhiactaClient(server.url, reviewer.raw) as other:
        with pytest.raises(PermissionDenied) as raised:
            await other.submit_bundle(paper(unique_name("denied")))
    assert raised.value.code == "FORBIDDEN" and raised.value.request_id


async def test_an_unknown_claim_is_not_found(phiacta: PhiactaClient) -> None:
    with pytest.raises(NotFound) as raised:
        await phiacta.evidence(uuid.uuid4())
    assert raised.value.path == ["evidence"] and raised.value.request_id


async def test_a_bad_bundle_is_a_validation_failure_with_every_field(
    phiacta: PhiactaClient,
) -> None:
    bad = BundleInput(
        source=BundleSource("paper", title="bad"),
        claims=[BundleClaim("a", "  "), BundleClaim("b", "fine")],
        edges=[BundleEdge("a", ClaimRef(temp_id="nowhere"), "supports")],
    )
    with pytest.raises(ValidationFailed) as raised:
        await phiacta.submit_bundle(bad)
    problems = {(d.path, d.code) for d in raised.value.details}
    assert ("claims[0].content", "INVALID_VALUE") in problems
    assert ("edges[0].target.tempId", "TEMP_ID_UNRESOLVED") in problems
    assert raised.value.request_id


async def test_conflicts_are_typed(phiacta: PhiactaClient) -> None:
    create = "mutation($path: String!) { createNamespace(input: {path: $path}) { id } }"
    path = unique_name("space")
    await phiacta.execute(create, {"path": path})
    with pytest.raises(Conflict) as raised:
        await phiacta.execute(create, {"path": path})
    assert raised.value.code == "CONFLICT"

    key = unique_name("reused")
    await phiacta.submit_bundle(paper(unique_name("one")), idempotency_key=key)
    with pytest.raises(IdempotencyConflict):
        await phiacta.submit_bundle(paper(unique_name("two")), idempotency_key=key)


async def test_a_cancelled_call_leaves_the_client_usable(phiacta: PhiactaClient) -> None:
    task = asyncio.create_task(phiacta.search("anything at all", "FULLTEXT"))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert isinstance(await phiacta.search("anything at all", "FULLTEXT"), list)
