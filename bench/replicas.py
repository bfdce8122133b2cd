"""Claim-by-id read throughput with 0, 1 and 2 streaming replicas, and who served it.

    .venv/bin/python bench/replicas.py [--claims 5000] [--seconds 10] [--rounds 3]

Builds a primary (embedded PostgreSQL) with bench/generate.py's graph, copies it into two
standbys with pg_basebackup, then starts `phiacta serve` (1 worker, so its /metrics
counts every read) with DATABASE_REPLICA_URLS naming 0, 1 or 2 of them, in rotating
order each round, and drives claim-by-id (creator, 10 edges, their targets) at
concurrency 16 from this process. Reports req/s per configuration (median and spread
over the rounds) and the share of reads each database served, from
phiacta_db_reads_total. Writes bench/results/replicas.json.

On one machine the primary, the replicas, the server and the load generator share the
same cores: the figure that matters is that reads spread evenly over the replicas and
none fail, not that throughput grows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from generate import DIMENSIONS, generate  # bench/generate.py
from prometheus_client.parser import text_string_to_metric_families

from phiacta.db import admin, migrate
from phiacta.db.embedded import EmbeddedPostgres
from phiacta.db.replicas import parse_lsn

ROOT = Path(__file__).resolve().parent.parent
PORTS = {0: 8200, 1: 8201, 2: 8202}
CONCURRENCY = 16
DATABASE = "bench_replicas"
# Bytes per row of the tables that grow with the graph (heap, TOAST and indexes), for
# the cost model in docs/scaling.md.
SIZES = """
SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid), c.reltuples::bigint
FROM pg_class c
WHERE c.relname IN ('claims', 'edges', 'reviews', 'provenance', 'sources')
UNION ALL
SELECT i.relname, pg_relation_size(i.oid), pg_relation_size(i.oid), NULL
FROM pg_class i
WHERE i.relname = 'ix_claims_embedding'
"""
CLAIM_BY_ID = """query ($id: ID!) { claim(id: $id) { id content createdBy { name }
    outgoing(first: 10) { edges { node { edgeType target { id content } } } } } }"""


def start_server(primary: str, replicas: list[str], port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATABASE_URL": primary,
        "DATABASE_REPLICA_URLS": json.dumps(replicas),
        "ENVIRONMENT": "production",
        "EMBEDDING_PROVIDER": "local",
        "LOG_LEVEL": "warning",
        "RATE_LIMIT_ENABLED": "false",
        "DATABASE_POOL_SIZE": "8",
        "DATABASE_MAX_OVERFLOW": "8",
    }
    command = [str(ROOT / ".venv/bin/phiacta"), "serve", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            ready = httpx.get(base + "/ready", timeout=5)
            last = ready.text
            replicas_up = all(r["state"] == "up" for r in ready.json().get("replicas", []))
            if ready.status_code == 200 and replicas_up:
                return process
        except (httpx.HTTPError, ValueError) as exc:
            last = repr(exc)
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not become ready: {last}")


def reads_by_target(base: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(base + "/metrics").text):
        for sample in family.samples:
            if sample.name == "phiacta_db_reads_total":
                counts[sample.labels["target"]] = sample.value
    return counts


async def drive(base: str, ids: list[str], seconds: float) -> tuple[int, int, float]:
    """Requests done, requests failed, elapsed seconds."""
    done = errors = 0
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        deadline = time.monotonic() + seconds

        async def worker(seed: int) -> None:
            nonlocal done, errors
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                body = {"query": CLAIM_BY_ID, "variables": {"id": rng.choice(ids)}}
                response = await client.post("/graphql", json=body)
                if response.status_code != 200 or response.json().get("errors"):
                    errors += 1
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(CONCURRENCY)))
        return done, errors, time.monotonic() - started


def measure(primary: str, replicas: list[str], ids: list[str], seconds: float) -> dict[str, Any]:
    port = PORTS[len(replicas)]
    base = f"http://127.0.0.1:{port}"
    process = start_server(primary, replicas, port)
    try:
        asyncio.run(drive(base, ids, 2.0))  # warm-up: pools filled, plans cached
        before = reads_by_target(base)
        done, errors, elapsed = asyncio.run(drive(base, ids, seconds))
        after = reads_by_target(base)
    finally:
        process.terminate()
        process.wait(30)
    served = {name: after[name] - before.get(name, 0) for name in after}
    total = sum(served.values()) or 1
    return {
        "requests": done,
        "errors": errors,
        "req_per_s": round(done / elapsed, 1),
        "served": served,
        "share": {name: round(count / total, 3) for name, count in sorted(served.items())},
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def share_of_all(results: list[dict[str, Any]]) -> dict[str, float]:
    """Each database's share of the reads of every round."""
    served: dict[str, float] = {}
    for result in results:
        for name, count in result["served"].items():
            served[name] = served.get(name, 0) + count
    total = sum(served.values()) or 1
    return {name: round(count / total, 3) for name, count in sorted(served.items())}


def table_sizes(conn: psycopg.Connection[Any]) -> dict[str, dict[str, float]]:
    claims = conn.execute("SELECT count(*) FROM claims").fetchone()
    assert claims is not None
    sizes: dict[str, dict[str, float]] = {}
    for name, total, heap, rows in conn.execute(SIZES):
        # The ANN index grows with the claims that have a vector.
        count = rows if rows is not None else claims[0]
        sizes[name] = {
            "rows": count,
            "total_bytes_per_row": round(total / max(count, 1), 1),
            "heap_bytes_per_row": round(heap / max(count, 1), 1),
        }
    return sizes


def wait_for_replay(primary: EmbeddedPostgres, standbys: list[EmbeddedPostgres]) -> None:
    with psycopg.connect(primary.url(DATABASE), autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
    assert row is not None
    target = parse_lsn(row[0])
    for standby in standbys:
        deadline = time.monotonic() + 120
        with psycopg.connect(standby.url(DATABASE), autocommit=True) as conn:
            while True:
                replay = conn.execute("SELECT pg_last_wal_replay_lsn()::text").fetchone()
                if replay and replay[0] and parse_lsn(replay[0]) >= target:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("a standby did not catch up")
                time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="phiacta-bench-replicas-"))
    primary = EmbeddedPostgres(folder / "primary")
    standbys: list[EmbeddedPostgres] = []
    try:
        primary.start()
        admin.create_database(primary.url(), DATABASE)
        migrate.upgrade(primary.url(DATABASE), DIMENSIONS)
        with psycopg.connect(primary.url(DATABASE), autocommit=True) as conn:
            generate(conn, args.claims, args.seed)
            conn.execute("VACUUM ANALYZE")
            ids = [str(r[0]) for r in conn.execute("SELECT id FROM claims LIMIT 2000")]
            sizes = table_sizes(conn)
        print(json.dumps(sizes, indent=2), flush=True)
        for index in range(2):
            standby = primary.make_standby(folder / f"standby-{index}")
            standby.start()
            standbys.append(standby)
        wait_for_replay(primary, standbys)
        replica_urls = [s.url(DATABASE) for s in standbys]

        runs: dict[int, list[dict[str, Any]]] = {0: [], 1: [], 2: []}
        for round_number in range(args.rounds):
            order = [0, 1, 2][round_number % 3 :] + [0, 1, 2][: round_number % 3]
            for count in order:
                result = measure(primary.url(DATABASE), replica_urls[:count], ids, args.seconds)
                runs[count].append(result)
                print(f"round {round_number + 1}, {count} replicas: {result}", flush=True)
        summary = {
            f"{count}_replicas": {
                "req_per_s_median": statistics.median(r["req_per_s"] for r in results),
                "req_per_s_min": min(r["req_per_s"] for r in results),
                "req_per_s_max": max(r["req_per_s"] for r in results),
                "errors": sum(r["errors"] for r in results),
                "share": share_of_all(results),
                "load_average_1m": [r["load_average_1m"] for r in results],
            }
            for count, results in runs.items()
        }
        report = {
            "claims": args.claims,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "concurrency": CONCURRENCY,
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "sizes": sizes,
            "summary": summary,
            "runs": {f"{count}_replicas": results for count, results in runs.items()},
        }
        print(json.dumps(summary, indent=2))
        results_dir = ROOT / "bench" / "results"
        results_dir.mkdir(exist_ok=True)
        (results_dir / "replicas.json").write_text(json.dumps(report, indent=2) + "\n")
    finally:
        for standby in standbys:
            standby.stop()
        primary.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
