"""submitBundle with a provider that embeds chunk by chunk inside the writing transaction:
near-duplicates are still judged against claims stored before the bundle only, a
provider failing mid-bundle still stores every claim, and the vectors are those of one
call. Driven through `submit_bundle` (what the mutation and `phiacta ingest` call) with
small chunks, so a few claims span several."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np
import psycopg
import pytest

from phiacta.config import Settings
from phiacta.db.pool import Pool
from phiacta.embeddings import EmbeddingError, EmbeddingProvider, LocalProvider
from phiacta.ingest.result import BundleResult
from phiacta.ingest.spec import bundle_from_json
from phiacta.ingest.submit import Actor, submit_bundle
from phiacta.store import agents as agent_store
from tests.support import make_settings
from tests.write_support import bundle

CHUNK = 2
ASPIRIN = "Aspirin lowers the risk of a first heart attack in adults over 50"
VACCINE = "Measles vaccination in infancy gives lifelong protection against measles"


class FailingAfter(EmbeddingProvider):
    """The local model for the first `calls` calls, then an outage."""

    name = "failing-after"

    def __init__(self, inner: LocalProvider, calls: int) -> None:
        self.dimensions = inner.dimensions
        self.write_chunk_size = CHUNK
        self._inner = inner
        self._left = calls

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self._left == 0:
            raise EmbeddingError("the provider is down")
        self._left -= 1
        return await self._inner.embed(texts)

    async def aclose(self) -> None:
        pass


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("data"))


@pytest.fixture
async def local() -> AsyncIterator[LocalProvider]:
    provider = LocalProvider()
    provider.write_chunk_size = CHUNK
    yield provider
    await provider.aclose()


@pytest.fixture
async def actor(pool: Pool) -> Actor:
    async with pool.connection() as conn:
        agent = await agent_store.insert_agent(conn, agent_type="pipeline", name="pipelined")
    return Actor(agent_id=agent.id, request_id="test")


async def _submit(
    pool: Pool, provider: EmbeddingProvider, settings: Settings, actor: Actor, texts: list[str]
) -> BundleResult:
    body = bundle(len(texts))
    for claim, text in zip(body["claims"], texts, strict=True):
        claim["content"] = text
    return await submit_bundle(pool, provider, settings, actor, bundle_from_json(body))


def _stored_vectors(database_url: str, result: BundleResult) -> list[list[float] | None]:
    ids = [m.id for m in result.claims]
    with psycopg.connect(database_url) as conn:
        rows = dict(
            conn.execute(
                "SELECT id, embedding::text FROM claims WHERE id = ANY(%s)", (ids,)
            ).fetchall()
        )
    return [None if rows[i] is None else json.loads(rows[i]) for i in ids]


async def test_near_duplicates_are_judged_against_earlier_claims_only_across_chunks(
    pool: Pool, local: LocalProvider, settings: Settings, actor: Actor
) -> None:
    tag = uuid.uuid4().hex[:8]
    existing = await _submit(pool, local, settings, actor, [f"{ASPIRIN} ({tag})"])
    existing_id = existing.claims[0].id
    texts = [
        f"{ASPIRIN.replace('lowers', 'reduces')} ({tag})",  # chunk 0: like the stored claim
        f"{VACCINE} ({tag})",
        f"Zebrafish regrow heart tissue after injury ({tag})",  # chunk 1
        f"{VACCINE.replace('gives', 'confers')} ({tag})",  # like claims[1]: same bundle
        f"Sleep deprivation impairs memory consolidation ({tag})",  # chunk 2
    ]

    result = await _submit(pool, local, settings, actor, texts)

    near = [w for w in result.warnings if w.code == "NEAR_DUPLICATE"]
    assert [w.path for w in near] == ["claims[0].content"]
    assert near[0].similar_claim_id == existing_id
    assert near[0].claim_id == result.claims[0].id


async def test_vectors_stored_chunk_by_chunk_are_those_of_one_call(
    pool: Pool, local: LocalProvider, settings: Settings, actor: Actor, database_url: str
) -> None:
    texts = [f"claim {i} about heart muscle {uuid.uuid4().hex[:6]}" for i in range(5)]

    result = await _submit(pool, local, settings, actor, texts)

    stored = _stored_vectors(database_url, result)
    assert all(v is not None for v in stored)
    assert np.allclose(np.array(stored), np.array(await local.embed(texts)), atol=1e-5)


async def test_a_provider_failing_mid_bundle_stores_every_claim_and_warns(
    pool: Pool,
    local: LocalProvider,
    settings: Settings,
    actor: Actor,
    database_url: str,
    tmp_path: Path,
) -> None:
    texts = [f"claim {i} on outages {uuid.uuid4().hex[:6]}" for i in range(5)]

    result = await _submit(pool, FailingAfter(local, calls=1), settings, actor, texts)

    stored = _stored_vectors(database_url, result)
    assert [v is not None for v in stored] == [True, True, False, False, False]
    assert result.warnings[0].code == "EMBEDDING_FAILED"
    assert result.warnings[0].path == "claims"
    assert "3 claims were stored without embeddings" in result.warnings[0].message
    assert "phiacta embed --missing" in result.warnings[0].message
    assert len(result.claims) == 5
    with psycopg.connect(database_url) as conn:
        provenance = conn.execute(
            "SELECT count(*) FROM provenance WHERE claim_id = ANY(%s)",
            ([m.id for m in result.claims],),
        ).fetchone()
    assert provenance == (5,)


async def test_a_provider_failing_at_once_stores_the_claims_without_vectors(
    pool: Pool, local: LocalProvider, settings: Settings, actor: Actor, database_url: str
) -> None:
    texts = [f"claim {i} on outages {uuid.uuid4().hex[:6]}" for i in range(3)]

    result = await _submit(pool, FailingAfter(local, calls=0), settings, actor, texts)

    assert _stored_vectors(database_url, result) == [None, None, None]
    assert [w.code for w in result.warnings] == ["EMBEDDING_FAILED"]
    assert result.warnings[0].message.startswith("the claims were stored without embeddings")
