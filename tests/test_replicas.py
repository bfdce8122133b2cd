"""Read replicas with real servers: a primary and a streaming standby made by
pg_basebackup, both embedded PostgreSQL on this machine, behind one live API server.
In the PgBouncer pass (PHIACTA_TEST_POOLER) the server reaches the primary through a
PgBouncer in transaction mode and the replica directly, as k8s/overlays/replicas-pgbouncer
deploys it."""

from __future__ import annotations

import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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
from tests.pgbouncer import Route, own_route
from tests.support import ApiKey, LiveServer, create_api_key, data_of, gql, make_settings

pytestmark = pytest.mark.own_postgres

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
    # In the PgBouncer pass, the way to the primary through its PgBouncer.
    route: Route | None

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
        with own_route(primary.url()) as route:
            yield Replicated(primary, standby, route)
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
    return make_settings(replicated.primary_url, data_dir, route=replicated.route, **values)


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


def served_since(
    before: dict[str, float],
    after: dict[str, float],
    names: tuple[str, ...] = ("primary", "replica-0"),
) -> dict[str, float]:
    return {name: after.get(name, 0) - before.get(name, 0) for name in names}


TWO = ("primary", "replica-0", "replica-1")


def replica_gauges(client: httpx.Client) -> dict[str, float]:
    """phiacta_db_replica_up by replica."""
    gauges: dict[str, float] = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        if family.name == "phiacta_db_replica_up":
            for sample in family.samples:
                gauges[sample.labels["replica"]] = sample.value
    return gauges


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


def test_ready_reports_each_replica_and_reads_skip_the_one_that_is_down(
    replicated: Replicated, writer: ApiKey, tmp_path: Path
) -> None:
    """Two replicas configured, the first never reachable (a socket folder that does not
    exist): /ready lists both with their own state and stays ready, the metrics say
    which is up, and every read goes to the live one."""
    nowhere = f"postgresql://postgres@/{DATABASE}?host={tmp_path / 'nowhere'}&port=5432"
    settings = replica_settings(
        replicated, tmp_path, database_replica_urls=[nowhere, replicated.standby_url]
    )
    with (
        LiveServer.run(settings) as live,
        httpx.Client(base_url=live.url, timeout=30) as client,
    ):
        ids = [write_claim(client, writer, f"two replicas {i}")[0] for i in range(10)]

        def states() -> list[str]:
            return [r["state"] for r in client.get("/ready").json()["replicas"]]

        wait_until(lambda: states() == ["down", "up"], "one replica down, one up")
        ready = client.get("/ready")
        before = reads_by_target(client)
        for claim_id in ids:
            assert data_of(gql(client, CLAIM, {"id": claim_id}))["claim"]["id"] == claim_id
        served = served_since(before, reads_by_target(client), TWO)
        gauges = replica_gauges(client)
    assert ready.status_code == 200
    down, up = ready.json()["replicas"]
    assert (down["name"], up["name"]) == ("replica-0", "replica-1")
    assert down["error"] and down["replay_lsn"] is None
    assert up["address"].endswith(f"/{DATABASE}") and up["replay_lsn"] is not None
    # The gauges and counters are the process's: the module's server, in this process
    # too, reports its own replica-0 (the standby, up).
    assert gauges["replica-1"] == 1
    assert served["replica-0"] == 0
    assert served["replica-1"] + served["primary"] == len(ids)
    assert served["replica-1"] > 0


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


@contextmanager
def replay_stuttering(
    replicated: Replicated, paused: float = 0.3, replaying: float = 0.1
) -> Iterator[None]:
    """The standby's replay paused for `paused` seconds, then let run for `replaying`,
    over and over while the block runs: it is mostly behind the writes just made,
    though not by more than REPLICA_MAX_LAG_MS (1 s), so it still serves."""
    stop = threading.Event()

    def stutter() -> None:
        with psycopg.connect(replicated.standby_url, autocommit=True) as standby:
            try:
                while not stop.is_set():
                    standby.execute("SELECT pg_wal_replay_pause()")
                    stop.wait(paused)
                    standby.execute("SELECT pg_wal_replay_resume()")
                    stop.wait(replaying)
            finally:
                standby.execute("SELECT pg_wal_replay_resume()")

    with ThreadPoolExecutor(max_workers=1) as runner:
        running = runner.submit(stutter)
        try:
            yield
        finally:
            stop.set()
            running.result()


def test_read_your_writes_holds_for_a_burst_of_200_write_then_read_pairs(
    server: LiveServer, replicated: Replicated
) -> None:
    """200 write-then-read pairs from 8 threads, each thread with a key of its own,
    while the standby's replay stutters. Each write is read back at once by its key
    (the server remembers it) and anonymously with its token: a replica that had not
    replayed it would answer `claim: null`, a stale read. That staleness is really
    there to be seen: the standby, asked directly after both reads, often still lacks
    the write. Every other pair first waits until /ready shows the replica has replayed
    its write, so the replica serves reads of the burst too, not only the primary."""
    keys: queue.SimpleQueue[ApiKey] = queue.SimpleQueue()
    for _ in range(8):
        keys.put(create_api_key(replicated.primary_url, ["claims:read", "claims:write"]))
    mine = threading.local()
    standbys: list[psycopg.Connection[Any]] = []
    stale: list[str] = []
    behind_when_read: list[int] = []

    def pair(index: int) -> None:
        if not hasattr(mine, "key"):
            mine.key = keys.get_nowait()
            mine.standby = psycopg.connect(replicated.standby_url, autocommit=True)
            standbys.append(mine.standby)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            claim_id, token = write_claim(client, mine.key, f"burst {index}")
            if index % 2:
                wait_until(lambda: replayed(replica_report(client), token), "replay")
            by_key = gql(client, CLAIM_WITH_EDGES, {"id": claim_id}, headers=mine.key.headers)
            by_token = gql(client, CLAIM, {"id": claim_id}, headers={"X-Phiacta-LSN": token})
        for body in (by_key, by_token):
            if (data_of(body)["claim"] or {}).get("content") != f"burst {index}":
                stale.append(f"{index}: {body}")
        # Asked after both reads came back: if it lacks the write now, it lacked it
        # while they were served.
        row = mine.standby.execute("SELECT 1 FROM claims WHERE id = %s", [claim_id]).fetchone()
        if row is None:
            behind_when_read.append(index)

    with httpx.Client(base_url=server.url) as client:
        wait_until(lambda: replica_report(client)["state"] == "up", "the replica to be up")
        before = reads_by_target(client)
        try:
            with replay_stuttering(replicated), ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(pair, range(200)))
        finally:
            for standby in standbys:
                standby.close()
        served = served_since(before, reads_by_target(client))
    assert stale == []
    assert served["primary"] + served["replica-0"] == 400
    # Both targets served: the reads the replica could not yet answer went to the
    # primary, and those of replayed writes (at least half the settled pairs') to it.
    assert served["primary"] > 0, served
    assert served["replica-0"] >= 100, served
    # The replica was often behind the write its writer was reading back.
    assert len(behind_when_read) > 0, served


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


def test_wal_that_is_no_transaction_does_not_make_a_quiet_replica_lagging(
    replicated: Replicated, writer: ApiKey, tmp_path: Path
) -> None:
    """After the primary has had no write for longer than REPLICA_MAX_LAG_MS (1 s),
    WAL that is no transaction (autovacuum and checkpoints write such; here
    pg_logical_emit_message) reaches the standby, whose replay is paused: the replica
    is behind only by WAL written a moment ago, though its last replayed transaction is
    old. It stays up (PostgreSQL's `now() - pg_last_xact_replay_timestamp()` would
    say 1.5 s and more), and once that WAL is older than the limit it is lagging."""
    settings = replica_settings(replicated, tmp_path)
    observed: list[tuple[float, str]] = []
    with (
        LiveServer.run(settings) as live,
        httpx.Client(base_url=live.url, timeout=30) as client,
        psycopg.connect(replicated.primary_url, autocommit=True) as primary,
        psycopg.connect(replicated.standby_url, autocommit=True) as standby,
    ):
        _, token = write_claim(client, writer, "the last write before a quiet spell")
        wait_until(lambda: replayed(replica_report(client), token), "the replica to replay it")
        time.sleep(1.5)
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            primary.execute("SELECT pg_logical_emit_message(false, 'phiacta-test', 'quiet')")
            emitted = time.monotonic()

            def received() -> bool:
                row = standby.execute(
                    "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()"
                ).fetchone()
                return bool(row and row[0])

            wait_until(received, "the standby to receive it")
            while time.monotonic() - emitted < 0.6:
                state = replica_report(client)["state"]
                observed.append((time.monotonic() - emitted, state))
                time.sleep(0.02)
            wait_until(lambda: replica_report(client)["state"] == "lagging", "the lag to show")
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
        wait_until(lambda: replica_report(client)["state"] == "up", "the replica to catch up")
    # Answers that came back within 0.8 s of the WAL being written saw it up.
    early = [state for elapsed, state in observed if elapsed < 0.8]
    assert early and set(early) == {"up"}, observed


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

    with httpx.Client(base_url=server.url) as client:
        before_burst = reads_by_target(client)
    with ThreadPoolExecutor(max_workers=8) as pool:
        running = [pool.submit(reader, n) for n in range(8)]
        assert halfway.wait(WAIT_SECONDS)
        with httpx.Client(base_url=server.url) as client:
            before_kill = reads_by_target(client)
        with lock:
            done_at_kill = done
        replicated.standby.stop(mode="immediate")
        for future in running:
            future.result()
    with httpx.Client(base_url=server.url) as client:
        after_burst = reads_by_target(client)
    assert failures == []
    assert done == 400
    # The replica served the burst until it was killed, reads were still being made
    # when it died, and the primary took over the rest.
    assert served_since(before_burst, before_kill)["replica-0"] > 0
    assert done_at_kill < 400
    assert served_since(before_kill, after_burst)["primary"] > 0
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert replica_report(client)["state"] == "down"
        assert client.get("/ready").status_code == 200
        replicated.standby.start()
        wait_until(lambda: replica_report(client)["state"] == "up", "the replica to return")
        before = reads_by_target(client)
        reads = 0

        def serves_again() -> bool:
            # Every read succeeds; the replica serves again once back (a first read may
            # still meet a pooled connection from before the kill and be answered by
            # the primary, which keeps the replica out for REPLICA_RETRY_SECONDS).
            nonlocal reads
            claim_id = ids[reads % len(ids)]
            reads += 1
            assert data_of(gql(client, CLAIM, {"id": claim_id}))["claim"]["id"] == claim_id
            return served_since(before, reads_by_target(client))["replica-0"] >= len(ids)

        wait_until(serves_again, "the replica to serve again")
