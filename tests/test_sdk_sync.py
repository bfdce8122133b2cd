"""The blocking `Phiacta` client against a live server, also from inside a running event
loop (as in Jupyter), and the SDK's lightness: it loads none of the server's packages."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from itertools import islice

import pytest

from phiacta.sdk import (
    BundleClaim,
    BundleEdge,
    BundleInput,
    BundleSource,
    ClaimFilter,
    NotFound,
    Phiacta,
)
from tests.live_client import last_event_id
from tests.support import ApiKey, LiveServer, create_api_key, unique_name


@pytest.fixture(scope="module")
def writer(database_url: str) -> ApiKey:
    return create_api_key(database_url, ["bundles:write", "claims:read", "claims:write"])


@pytest.fixture
def phiacta(server: LiveServer, writer: ApiKey) -> Iterator[Phiacta]:
    with Phiacta(server.url, writer.raw) as client:
        yield client


def two_claims(tag: str) -> BundleInput:
    return BundleInput(
        source=BundleSource("paper", title=tag),
        claims=[BundleClaim("a", f"Cause {tag}"), BundleClaim("b", f"Effect {tag}")],
        edges=[BundleEdge("a", "b", "supports")],
    )


def test_every_method_blocks_and_returns_typed_results(
    phiacta: Phiacta, server: LiveServer, database_url: str
) -> None:
    start = asyncio.run(last_event_id(database_url))
    tag = unique_name("sync")
    ids = phiacta.submit_bundle(two_claims(tag)).claims
    claim = phiacta.claim(ids["a"])
    assert claim is not None and claim.content == f"Cause {tag}"
    listed = {c.id for c in phiacta.claims(ClaimFilter(source=None), page_size=1)}
    assert set(ids.values()) <= listed
    assert phiacta.claims_page(first=1).page_info.has_next_page
    assert {h.claim.id for h in phiacta.search(tag, "FULLTEXT")} == set(ids.values())
    assert [n.depth for n in phiacta.traverse(ids["a"]).nodes] == [0, 1]
    found = phiacta.path(ids["a"], ids["b"])
    assert found is not None and found.length == 1
    assert phiacta.evidence(ids["b"]).summary.supporting_count == 1
    assert phiacta.revise(ids["b"], content=f"Effect {tag}, revised").version == 2
    assert phiacta.execute("query { viewer { scopes } }")["viewer"]["scopes"]
    reviewer = create_api_key(database_url, ["reviews:write"])
    with Phiacta(server.url, reviewer.raw) as other:
        assert not other.review(ids["a"], "endorse").replaced

    events = list(islice(phiacta.subscribe(["claim_created"], after=str(start)), 2))
    assert [e.payload["claim_id"] for e in events] == [str(ids["a"]), str(ids["b"])]
    with pytest.raises(NotFound):
        phiacta.evidence(uuid.uuid4())


async def test_it_works_inside_a_running_event_loop(phiacta: Phiacta) -> None:
    # Jupyter runs cells inside a loop; the client keeps its own loop in a thread.
    assert asyncio.get_running_loop().is_running()
    assert phiacta.claim(uuid.uuid4()) is None
    assert isinstance(phiacta.search("anything", "FULLTEXT"), list)


def test_closing_twice_is_harmless(server: LiveServer) -> None:
    client = Phiacta(server.url)
    client.close()
    client.close()


def test_the_sdk_loads_none_of_the_servers_packages() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, phiacta.sdk; print(' '.join(m for m in sys.modules if 'phiacta' in m))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert "phiacta.sdk" in loaded
    heavy = ("phiacta.graphql", "phiacta.store", "phiacta.db", "phiacta.config", "strawberry")
    assert not [m for m in loaded if m.startswith(heavy)]
