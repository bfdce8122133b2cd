"""Read replicas with real servers: a primary and a streaming standby made by
pg_basebackup, both embedded PostgreSQL on this machine, behind one live API server."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from phiacta.config import Settings
from phiacta.db import admin, migrate
from phiacta.db.embedded import EmbeddedPostgres
from phiacta.db.replicas import parse_lsn
from tests.conftest import TEST_DIMENSIONS
from tests.support import ApiKey, LiveServer, create_api_key, data_of, gql, make_settings

DATABASE = "phiacta"
WAIT_SECONDS = 30
CREATE_CLAIM = """mutation($input: CreateClaimInput!) { createClaim(input: $input) { id } }"""
REVISE = """mutation($id: ID!, $content: String!) {
  reviseClaim(id: $id, input: {content: $content}) { id content } }"""
CLAIM = "query($id: ID!) { claim(id: $id) { id content } }"
# The claim-by-id shape read by one statement shared across requests (ClaimReads).
CLAIM_WITH_EDGES = """query($id: ID!) { claim(id: $id) { id content createdBy { name }
  outgoing(first: 5) { edges { node { edgeType } } } } }"""


@dataclass
class Replicated:
    primary: EmbeddedPostgres
    standby: EmbeddedPostgres

    @property
    def primary_url(self) -> str:
        return self.primary.url(DATABASE)

    @property
    def standby_url(self) -> str:
        return self.standby.url(DATABASE)


@pytest.fixture(scope="module")
def replicated() -> Iterator[Replicated]:
    # Not under pytest's temporary root: every pytest session on the machine resets
    # that folder to 0700, and the servers' own user must reach these paths again when
    # the standby is restarted.
    with tempfile.TemporaryDirectory(prefix="phiacta-replication-") as folder:
        yield from _replicated(Path(folder))


def _replicated(root: Path) -> Iterator[Replicated]:
    primary = EmbeddedPostgres(root / "primary")
    primary.start()
    standby: EmbeddedPostgres | None = None
    try:
        admin.create_database(primary.url(), DATABASE)
        migrate.upgrade(primary.url(DATABASE), TEST_DIMENSIONS)
        standby = primary.make_standby(root / "standby")
        standby.start()
        yield Replicated(primary, standby)
    finally:
        if standby is not None:
            standby.stop()
        primary.stop()


def replica_settings(replicated: Replicated, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_replica_urls": [replicated.standby_url],
        "replica_check_interval_ms": 20,
        "replica_retry_seconds": 0.2,
        "replica_pool_timeout": 1.0,
        "embed_on_write": False,
        **overrides,
    }
    return make_settings(replicated.primary_url, data_dir, **values)


@pytest.fixture(scope="module")
def server(
    replicated: Replicated, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    settings = replica_settings(replicated, tmp_path_factory.mktemp("data"))
    with LiveServer.run(settings) as live:
        yield live


@pytest.fixture(scope="module")
def writer(replicated: Replicated) -> ApiKey:
    return create_api_key(replicated.primary_url, ["claims:read", "claims:write"])


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def replica_report(client: httpx.Client) -> dict[str, Any]:
    (report,) = client.get("/ready").json()["replicas"]
    assert isinstance(report, dict)
    return report


def replayed(report: dict[str, Any], token: str) -> bool:
    """Whether the replica is up and has replayed the write `token` names."""
    position = report["replay_lsn"]
    return report["state"] == "up" and parse_lsn(position) >= parse_lsn(token)


def reads_by_target(client: httpx.Client) -> dict[str, float]:
    text = client.get("/metrics").text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "phiacta_db_reads":
            for sample in family.samples:
                if sample.name == "phiacta_db_reads_total":
                    counts[sample.labels["target"]] = sample.value
    return counts


def served_since(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after.get(name, 0) - before.get(name, 0) for name in ("primary", "replica-0")}


def write_claim(client: httpx.Client, key: ApiKey, content: str) -> tuple[str, str]:
    """A new claim's id and the LSN token its response carried."""
    response = client.post(
        "/graphql",
        json={"query": CREATE_CLAIM, "variables": {"input": {"content": content}}},
        headers=key.headers,
    )
    assert response.status_code == 200, response.text
    claim_id: str = data_of(response.json())["createClaim"]["id"]
    return claim_id, response.headers["X-Phiacta-LSN"]


def test_ready_reports_the_replica_up_with_its_replay_position(
    server: LiveServer, replicated: Replicated
) -> None:
    with httpx.Client(base_url=server.url) as client:
        wait_until(lambda: replica_report(client)["state"] == "up", "the replica to be up")
        body = client.get("/ready").json()
    (report,) = body["replicas"]
    assert body["status"] == "ok"
    assert report["name"] == "replica-0"
    assert report["address"].endswith(f"/{DATABASE}")
    parse_lsn(report["replay_lsn"])
    assert report["lag_ms"] >= 0


def test_a_write_is_read_back_through_the_replica_once_it_replayed_the_token(
    server: LiveServer, writer: ApiKey
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        claim_id, token = write_claim(client, writer, "read back through the replica")
        wait_until(lambda: replayed(replica_report(client), token), "the replica to replay it")
        before = reads_by_target(client)
        body = client.post(
            "/graphql",
            json={"query": CLAIM, "variables": {"id": claim_id}},
            headers={"X-Phiacta-LSN": token},
        ).json()
        served = served_since(before, reads_by_target(client))
    assert data_of(body)["claim"]["content"] == "read back through the replica"
    assert served == {"primary": 0, "replica-0": 1}


def test_read_your_writes_holds_for_a_burst_of_200_write_then_read_pairs(
    server: LiveServer, writer: ApiKey
) -> None:
    """Each write is read back at once by the same key (the server remembers it) and
    anonymously with the token: never by a replica that has not replayed it."""
    stale: list[str] = []

    def pair(index: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            claim_id, token = write_claim(client, writer, f"burst {index}")
            by_key = gql(client, CLAIM_WITH_EDGES, {"id": claim_id}, headers=writer.headers)
            by_token = gql(client, CLAIM, {"id": claim_id}, headers={"X-Phiacta-LSN": token})
            for body in (by_key, by_token):
                if (data_of(body)["claim"] or {}).get("content") != f"burst {index}":
                    stale.append(f"{index}: {body}")

    with httpx.Client(base_url=server.url) as client:
        before = reads_by_target(client)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(pair, range(200)))
        served = served_since(before, reads_by_target(client))
    assert stale == []
    assert served["primary"] + served["replica-0"] == 400


def test_a_revision_is_never_read_as_its_old_content_by_its_writer(
    server: LiveServer, writer: ApiKey
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        claim_id, _ = write_claim(client, writer, "version 0")
        for version in range(1, 21):
            revised = gql(
                client,
                REVISE,
                {"id": claim_id, "content": f"version {version}"},
                headers=writer.headers,
            )
            claim_id = data_of(revised)["reviseClaim"]["id"]
            read = gql(client, CLAIM, {"id": claim_id}, headers=writer.headers)
            assert data_of(read)["claim"]["content"] == f"version {version}"


def test_a_bad_lsn_token_is_refused_with_the_header_named(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        response = client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"X-Phiacta-LSN": "yesterday"}
        )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["extensions"]["details"][0]["path"] == "X-Phiacta-LSN"


def test_a_replica_lagging_past_the_limit_serves_no_read_until_it_catches_up(
    replicated: Replicated, writer: ApiKey, tmp_path: Path
) -> None:
    settings = replica_settings(replicated, tmp_path, replica_max_lag_ms=1)
    with (
        LiveServer.run(settings) as live,
        httpx.Client(base_url=live.url, timeout=30) as client,
        psycopg.connect(replicated.standby_url, autocommit=True) as standby,
    ):
        wait_until(lambda: replica_report(client)["state"] == "up", "the replica to be up")
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            claim_id, _ = write_claim(client, writer, "written while replay is paused")
            wait_until(lambda: replica_report(client)["state"] == "lagging", "lag to show")
            before = reads_by_target(client)
            read = gql(client, CLAIM, {"id": claim_id})
            served = served_since(before, reads_by_target(client))
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
        wait_until(lambda: replica_report(client)["state"] == "up", "the replica to catch up")
    assert data_of(read)["claim"]["content"] == "written while replay is paused"
    assert served == {"primary": 1, "replica-0": 0}


def test_a_replica_killed_mid_burst_costs_no_request_and_is_used_again_once_back(
    server: LiveServer, replicated: Replicated, writer: ApiKey
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        ids = [write_claim(client, writer, f"kept {i}")[0] for i in range(20)]
        wait_until(lambda: replica_report(client)["state"] == "up", "the replica to be up")
    halfway = threading.Event()
    failures: list[str] = []
    done = 0
    lock = threading.Lock()

    def reader(offset: int) -> None:
        nonlocal done
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for i in range(50):
                claim_id = ids[(offset + i) % len(ids)]
                query = CLAIM_WITH_EDGES if i % 2 else CLAIM
                response = client.post(
                    "/graphql", json={"query": query, "variables": {"id": claim_id}}
                )
                body = response.json()
                if response.status_code != 200 or body.get("errors") or not body["data"]["claim"]:
                    failures.append(f"{response.status_code}: {body}")
                with lock:
                    done += 1
                    if done == 100:
                        halfway.set()

    with ThreadPoolExecutor(max_workers=8) as pool:
        running = [pool.submit(reader, n) for n in range(8)]
        assert halfway.wait(WAIT_SECONDS)
        replicated.standby.stop(mode="immediate")
        for future in running:
            future.result()
    assert failures == []
    assert done == 400
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert replica_report(client)["state"] == "down"
        assert client.get("/ready").status_code == 200
        replicated.standby.start()
        wait_until(lambda: replica_report(client)["state"] == "up", "the replica to return")
        before = reads_by_target(client)
        for claim_id in ids:
            assert data_of(gql(client, CLAIM, {"id": claim_id}))["claim"]["id"] == claim_id
        served = served_since(before, reads_by_target(client))
    # Every read succeeded; the replica serves again once back (a first read may still
    # meet a pooled connection from before the kill and be answered by the primary).
    assert served["replica-0"] >= len(ids) // 2
