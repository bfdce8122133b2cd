"""API keys: a valid key identifies its agent; a bad, revoked or expired one is refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from phiacta.auth.pepper import resolve_pepper
from tests.support import create_api_key, data_of, error_codes, gql, make_settings

QUERY = "{ edgeTypes { name } }"


def test_a_valid_key_is_accepted_on_a_read(client: httpx.Client, database_url: str) -> None:
    key = create_api_key(database_url, ["claims:read"])
    body = gql(client, QUERY, headers=key.headers)
    assert len(data_of(body)["edgeTypes"]) == 15


def test_a_request_without_a_key_is_anonymous_and_public_reads_work(client: httpx.Client) -> None:
    assert len(data_of(gql(client, QUERY))["edgeTypes"]) == 15


def test_a_malformed_or_unknown_key_is_refused_with_401(client: httpx.Client) -> None:
    for header in ["Bearer nope", "Basic abc", "Bearer phk_aaaaaaaaaaaa_" + "A" * 43]:
        response = client.post("/graphql", json={"query": QUERY}, headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert error_codes(response.json()) == ["UNAUTHENTICATED"]
        assert response.json()["errors"][0]["extensions"]["request_id"]


def test_a_revoked_key_is_refused_on_the_next_request(
    client: httpx.Client, database_url: str
) -> None:
    key = create_api_key(database_url, ["claims:read"])
    data_of(gql(client, QUERY, headers=key.headers))
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s", (key.key_id,))
    response = client.post("/graphql", json={"query": QUERY}, headers=key.headers)
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]


def test_an_expired_key_is_refused(client: httpx.Client, database_url: str) -> None:
    key = create_api_key(
        database_url, ["claims:read"], expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    response = client.post("/graphql", json={"query": QUERY}, headers=key.headers)
    assert response.status_code == 401
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]


def test_only_a_hash_of_the_key_is_stored(client: httpx.Client, database_url: str) -> None:
    key = create_api_key(database_url, ["claims:read"])
    secret = key.raw.split("_", 2)[2]
    with psycopg.connect(database_url) as conn:
        stored = conn.execute(
            "SELECT prefix, hash FROM api_keys WHERE id = %s", (key.key_id,)
        ).fetchone()
    assert stored is not None
    assert stored[1].startswith("$argon2id$")
    assert secret not in stored[1] and key.raw not in stored[1]
    assert key.raw.startswith(f"phk_{stored[0]}_")


def test_processes_racing_to_generate_the_salt_all_read_one_whole_value(tmp_path: Path) -> None:
    settings = make_settings("postgresql://unused/db", tmp_path, api_key_salt=None)
    with ThreadPoolExecutor(max_workers=8) as pool:
        peppers = set(pool.map(lambda _: resolve_pepper(settings), range(32)))
    assert len(peppers) == 1
    assert len(peppers.pop()) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["api_key_salt"]  # no draft left behind
