"""Sequential end-to-end latency of one read through a running server.

A keep-alive `http.client` connection adds little overhead of its own, so the figures
are the server's. Start the server first (for example `phiacta serve --workers 1`
against a database made by bench/generate.py), then:

    .venv/bin/python -m bench.latency --database-url URL --port 8000 --query claim
    .venv/bin/python -m bench.latency --database-url URL --port 8000 --query traverse5

Prints p50/p95/p99 and, with --server-pid, the server's CPU time per request; writes
bench/results/latency_<query>.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import time
from pathlib import Path

import psycopg

QUERIES = {
    "claim": """query ($id: ID!) { claim(id: $id) { id content createdBy { name }
        outgoing(first: 10) { edges { node { edgeType target { id content } } } } } }""",
    "traverse5": """query ($id: ID!) { traverse(start: $id, maxDepth: 5, limit: 1000,
        direction: OUTGOING) { truncated nodes { depth claim { id } } } }""",
}

HUBS = """
SELECT source_id FROM edges GROUP BY source_id HAVING count(*) >= 10 LIMIT 500
"""

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_seconds(pid: int | None) -> float:
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="to pick claims with 10+ edges")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--query", choices=sorted(QUERIES), default="claim")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--server-pid", type=int, default=None)
    args = parser.parse_args()

    with psycopg.connect(args.database_url) as conn:
        ids = [str(row[0]) for row in conn.execute(HUBS).fetchall()]
    if not ids:
        raise SystemExit("no claim with 10 or more outgoing edges in that database")
    connection = http.client.HTTPConnection("127.0.0.1", args.port)
    rng = random.Random(1)

    def one() -> float:
        body = json.dumps({"query": QUERIES[args.query], "variables": {"id": rng.choice(ids)}})
        started = time.perf_counter()
        connection.request("POST", "/graphql", body, {"content-type": "application/json"})
        response = connection.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200 or b'"errors"' in data:
            raise SystemExit(f"request failed: {response.status} {data[:300]!r}")
        return elapsed

    for _ in range(args.warmup):
        one()
    cpu_before = cpu_seconds(args.server_pid)
    samples = sorted(one() for _ in range(args.requests))
    cpu_after = cpu_seconds(args.server_pid)
    n = len(samples)
    result = {
        "query": args.query,
        "requests": n,
        "p50_ms": round(statistics.median(samples) * 1000, 3),
        "p95_ms": round(samples[int(n * 0.95) - 1] * 1000, 3),
        "p99_ms": round(samples[int(n * 0.99) - 1] * 1000, 3),
        "server_cpu_ms_per_request": (
            round((cpu_after - cpu_before) / n * 1000, 3) if args.server_pid else None
        ),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"latency_{args.query}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
