"""A failing embedding provider never loses a claim: submitBundle over HTTP stores the
claims without vectors and warns, and `phiacta embed --missing` (a subprocess) fills
them in once the provider answers again. The provider is the real OpenAI client talking
to a fake OpenAI-compatible server on 127.0.0.1 that first answers 500, then 384-wide
vectors, so both runs agree with the database's vector size."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from tests.conftest import TEST_DIMENSIONS
from tests.support import (
    TEST_API_KEY_SALT,
    LiveServer,
    create_api_key,
    data_of,
    make_settings,
)
from tests.test_cli_serve import base_env
from tests.test_embeddings import API_KEY, FakeOpenAI, fake_vector, serving_fake_openai, unit
from tests.write_support import bundle, submit

# More than the provider's attempts: every retry of the write fails too.
FAILURES = [(500, {"Retry-After": "0"})] * 20


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with serving_fake_openai() as fake:
        yield fake


def _openai_env() -> dict[str, str]:
    return {
        "EMBEDDING_PROVIDER": "openai",
        "OPENAI_API_KEY": API_KEY,
        "EMBEDDING_DIMENSIONS": str(TEST_DIMENSIONS),
    }


@pytest.fixture(scope="module")
def server(
    database_url: str, fake_openai: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    settings = make_settings(
        database_url,
        tmp_path_factory.mktemp("data"),
        EMBEDDING_PROVIDER="openai",
        openai_api_key=API_KEY,
        openai_base_url=fake_openai.url,
        embedding_dimensions_setting=TEST_DIMENSIONS,
        matview_refresh_seconds=0,
    )
    with LiveServer.run(settings) as live:
        yield live


def _embeddings(database_url: str, ids: list[str]) -> dict[str, list[float] | None]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT id::text, embedding::text FROM claims WHERE id = ANY(%s::uuid[])", (ids,)
        ).fetchall()
    return {str(i): None if e is None else json.loads(e) for i, e in rows}


def test_a_failing_provider_stores_the_claims_without_vectors_and_embed_missing_fills_them(
    client: Any, database_url: str, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    key = create_api_key(database_url, ["bundles:write"])
    body = bundle(3)
    fake_openai.failures = list(FAILURES)

    result = data_of(submit(client, body, key.headers))["submitBundle"]

    warnings = [w for w in result["warnings"] if w["code"] == "EMBEDDING_FAILED"]
    assert len(warnings) == 1 and warnings[0]["path"] == "claims"
    assert "without embeddings" in warnings[0]["message"]
    assert "phiacta embed --missing" in warnings[0]["message"]
    ids = [c["id"] for c in result["claims"]]
    assert _embeddings(database_url, ids) == dict.fromkeys(ids)
    assert fake_openai.requests, "the provider was never called"

    fake_openai.failures.clear()
    env = base_env(
        tmp_path / "data",
        DATABASE_URL=database_url,
        API_KEY_SALT=TEST_API_KEY_SALT,
        OPENAI_BASE_URL=fake_openai.url,
        **_openai_env(),
    )
    done = subprocess.run(
        [sys.executable, "-m", "phiacta", "embed", "--missing"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "embedded 3 claims" in done.stdout
    filled = _embeddings(database_url, ids)
    contents = {c["tempId"]: c["content"] for c in body["claims"]}
    by_temp_id = {c["tempId"]: filled[c["id"]] for c in result["claims"]}
    for temp_id, vector in by_temp_id.items():
        assert vector is not None
        expected = unit(fake_vector(contents[temp_id], TEST_DIMENSIONS))
        assert np.allclose(vector, expected, atol=1e-6)
