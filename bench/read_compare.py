"""Two checkouts' read paths compared on one generated graph, in the same minutes.

    .venv/bin/python bench/generate.py --claims 10000 --data-dir /tmp/phiacta-bench
    .venv/bin/python -m bench.read_compare OLD_TREE NEW_TREE --claims 10000 \\
        [--data-dir /tmp/phiacta-bench] [--rounds 200] [--seconds 10]

A tree is any checkout (`git archive main | tar -x -C /tmp/old` makes one); both run
with this virtualenv. Per query (claim by id with its creator and 10 outgoing edges with
targets; the page of 50 latest claims, each with creator and 5 outgoing edges with
targets):

- latency at concurrency 1: both trees serve at once (`--workers 1`), and each round
  sends the query to one then the other, alternating which goes first, so slow and fast
  minutes of this shared machine fall on both alike; per tree the HTTP p50/p95 and the
  server's CPU per request (its processes, from /proc);
- the raw-SQL floor in the same minutes: the planner's one statement for the query,
  prepared, run straight through psycopg (JSON text fetched, nothing decoded);
- throughput at concurrency 32 against `--workers 2`, measured by wrk (a separate load
  process; `make bench` installs it from Debian when missing), trees alternating
  A B A B, with CPU per request and each worker's peak RSS.

Prints and writes bench/results/read_compare-<claims>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from graphql import parse

from bench.read import claim_bodies, free_port, wrk_run
from phiacta.db import admin
from phiacta.db.embedded import EmbeddedPostgres
from phiacta.graphql.engine.planner import plan_reads
from phiacta.graphql.schema import build_schema
from phiacta.store.visibility import PUBLIC

RESULTS = Path(__file__).parent / "results"
QUERIES = {
    "claim_by_id": """query ($id: ID!) { claim(id: $id) { id content createdBy { name }
        outgoing(first: 10) { edges { node { edgeType target { id content } } } } } }""",
    "page_of_50": """query { claims(first: 50) { edges { cursor node { id content
        createdBy { name } outgoing(first: 5) { edges { node { edgeType
        target { id content } } } } } } } }""",
}


def process_tree(root: int) -> list[int]:
    """`root` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending += children.get(pid, [])
    return found


def cpu_seconds(pids: list[int]) -> float:
    """CPU time of the processes `pids` (a server's `process_tree`, read once)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def postgres_pids(pgdata: Path) -> list[int]:
    """The bench's PostgreSQL: its postmaster and every backend (the planner moves work
    from the server's processes into these, so both are reported)."""
    return process_tree(int((pgdata / "postmaster.pid").read_text().split()[0]))


def peak_rss_mb(root: int) -> list[float]:
    """VmHWM of each worker (the processes under the supervisor)."""
    peaks = []
    for pid in process_tree(root)[1:]:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        if match:
            peaks.append(round(int(match.group(1)) / 1024, 1))
    return peaks


@contextmanager
def serving(tree: Path, url: str, workers: int) -> Any:
    port = free_port()
    env = os.environ | {
        "PYTHONPATH": str(tree),
        "DATABASE_URL": url,
        "ENVIRONMENT": "production",
        "EMBEDDING_PROVIDER": "local",
        "LOG_LEVEL": "warning",
        "RATE_LIMIT_ENABLED": "false",
        "MATVIEW_REFRESH_SECONDS": "0",
        "GRAPHQL_MAX_COST": "100000000",
        "DATABASE_POOL_SIZE": "8",
        "PHIACTA_DATA_DIR": tempfile.mkdtemp(prefix="phiacta-read-"),
    }
    command = [sys.executable, "-m", "phiacta", "serve", "--port", str(port)]
    process = subprocess.Popen([*command, "--workers", str(workers)], env=env, cwd=tree)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(base + "/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not become ready")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(30)


def busy_claims(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT source_id FROM edges GROUP BY source_id HAVING count(*) >= 10 LIMIT 500"
        ).fetchall()
    return [str(row[0]) for row in rows]


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
        "n": len(ordered),
    }


def latency(
    trees: list[Path], url: str, ids: list[str], rounds: int, pgdata: Path
) -> dict[str, Any]:
    rng = random.Random(3)
    results: dict[str, Any] = {}
    with ExitStack() as stack:
        servers = [stack.enter_context(serving(tree, url, 1)) for tree in trees]
        clients = [stack.enter_context(httpx.Client(base_url=base)) for base, _ in servers]
        pids = [process_tree(pid) for _, pid in servers]
        for name, query in QUERIES.items():
            samples: list[list[float]] = [[] for _ in trees]
            cpu = [0.0 for _ in trees]
            pg_cpu = [0.0 for _ in trees]
            for round_ in range(rounds + 10):
                body = {"query": query, "variables": {"id": rng.choice(ids)}}
                order = range(len(trees)) if round_ % 2 == 0 else reversed(range(len(trees)))
                for i in order:
                    # One request at a time: the database's CPU meanwhile is this one's.
                    backends = postgres_pids(pgdata)
                    pg_before = cpu_seconds(backends)
                    before, started = cpu_seconds(pids[i]), time.perf_counter()
                    response = clients[i].post("/graphql", json=body)
                    elapsed = time.perf_counter() - started
                    after = cpu_seconds(pids[i])
                    assert response.status_code == 200 and "errors" not in response.json()
                    if round_ >= 10:  # the first rounds warm up plans and caches
                        samples[i].append(elapsed)
                        cpu[i] += after - before
                        pg_cpu[i] += cpu_seconds(backends) - pg_before
            results[name] = [
                {
                    "tree": str(tree),
                    **stats(samples[i]),
                    "cpu_ms": round(cpu[i] / rounds * 1000, 3),
                    "postgres_cpu_ms": round(pg_cpu[i] / rounds * 1000, 3),
                }
                for i, tree in enumerate(trees)
            ]
    return results


async def sql_floor(url: str, ids: list[str], rounds: int) -> dict[str, Any]:
    """Each query's planned statement, prepared, straight through psycopg."""
    schema = build_schema()._schema
    rng = random.Random(5)
    floors: dict[str, Any] = {}
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for name, query in QUERIES.items():
            reads = plan_reads(schema, parse(query), None)
            assert reads is not None, name
            samples = []
            for round_ in range(rounds + 10):
                params = reads.bind(schema, {"id": rng.choice(ids)})
                values = reads.values(params, PUBLIC)
                started = time.perf_counter()
                cursor = await conn.execute(reads.statement(params), values, prepare=True)
                await cursor.fetchone()
                if round_ >= 10:
                    samples.append(time.perf_counter() - started)
            floors[name] = stats(samples)
    return floors


def wrk(base: str, query: str, ids: list[str], seconds: int) -> tuple[float, int]:
    run = wrk_run(base, claim_bodies(query, ids), 32, seconds)
    assert run["non_2xx"] == 0, run
    return run["req_per_s"], run["requests"]


def throughput(
    trees: list[Path], url: str, ids: list[str], seconds: int, pgdata: Path, rounds: int = 2
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, query in QUERIES.items():
        rates: list[list[float]] = [[] for _ in trees]
        cpu: list[list[float]] = [[] for _ in trees]
        pg_cpu: list[list[float]] = [[] for _ in trees]
        rss: list[list[float]] = [[] for _ in trees]
        for round_ in range(rounds):
            order = range(len(trees)) if round_ % 2 == 0 else reversed(range(len(trees)))
            for i in order:
                with serving(trees[i], url, 2) as (base, pid):
                    wrk(base, query, ids, 2)  # warm-up: plans, prepared statements
                    workers, backends = process_tree(pid), postgres_pids(pgdata)
                    before, pg_before = cpu_seconds(workers), cpu_seconds(backends)
                    rate, requests = wrk(base, query, ids, seconds)
                    rates[i].append(rate)
                    cpu[i].append((cpu_seconds(workers) - before) / max(requests, 1) * 1000)
                    pg_cpu[i].append((cpu_seconds(backends) - pg_before) / max(requests, 1) * 1000)
                    rss[i] += peak_rss_mb(pid)
        results[name] = [
            {
                "tree": str(tree),
                "req_per_s": [round(r, 1) for r in rates[i]],
                "cpu_ms_per_request": [round(c, 3) for c in cpu[i]],
                "postgres_cpu_ms_per_request": [round(c, 3) for c in pg_cpu[i]],
                "peak_rss_mb_per_worker": max(rss[i], default=None),
            }
            for i, tree in enumerate(trees)
        ]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trees", type=Path, nargs=2, help="OLD_TREE NEW_TREE")
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "phiacta-bench"
    )
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--throughput-rounds", type=int, default=2, help="wrk runs per tree, alternating"
    )
    parser.add_argument("--queries", nargs="+", choices=sorted(QUERIES), default=sorted(QUERIES))
    parser.add_argument("--throughput-only", action="store_true")
    args = parser.parse_args()
    for name in set(QUERIES) - set(args.queries):
        del QUERIES[name]
    trees = [tree.resolve() for tree in args.trees]
    pg = EmbeddedPostgres(args.data_dir)
    pg.start()
    url = admin.with_database(pg.url(), f"bench_{args.claims}")
    try:
        ids = busy_claims(url)
        report: dict[str, Any] = {
            "claims": args.claims,
            "load_average_at_start": Path("/proc/loadavg").read_text().split()[:3],
        }
        if not args.throughput_only:
            report["latency_c1"] = latency(trees, url, ids, args.rounds, pg.pgdata)
            report["sql_floor"] = asyncio.run(sql_floor(url, ids, args.rounds))
            print(json.dumps(report, indent=2), flush=True)
        if shutil.which("wrk"):
            report["throughput_c32_2_workers"] = throughput(
                trees, url, ids, args.seconds, pg.pgdata, args.throughput_rounds
            )
        report["load_average_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
        print(json.dumps(report, indent=2))
    finally:
        pg.stop()  # started here: stopped here, whatever happened
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"read_compare-{args.claims}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
