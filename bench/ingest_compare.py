"""Two checkouts' write paths compared bundle by bundle, in the same minutes.

    .venv/bin/python -m bench.ingest_compare OLD_TREE NEW_TREE [--rounds 40] [--claims 500]

The VM this runs on changes speed from one minute to the next (the same code measured
3,110 and 4,984 claims/s an hour apart), so two `bench/ingest.py` runs of different
code are hard to compare. Here both trees serve at once (`phiacta serve --workers 1`
each, run from the tree with this virtualenv), from databases on one embedded
PostgreSQL, and each round sends one 500-claim bundle (embeddings off) to each in turn,
alternating which goes first: slow and fast minutes fall on both alike. Prints and
writes bench/results/ingest_compare.json: per tree the median and mean latency and the
server's CPU per bundle (its process, from /proc).

A tree is any checkout, e.g. `git worktree add /tmp/old <commit>`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.ingest import make_bundle, served_in_processes
from phiacta.db import admin, migrate
from phiacta.db.embedded import EmbeddedPostgres
from tests.support import create_api_key, data_of
from tests.write_support import submit

RESULTS = Path(__file__).parent / "results" / "ingest_compare.json"
WARM_UP_BUNDLES = 3


def server_cpu_seconds(port: int) -> float:
    """CPU time of the processes serving `port` (the server and its children)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = stat.read_bytes().split(b"\0")
            if b"serve" not in command or str(port).encode() not in command:
                continue
            fields = (stat.parent / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        total += ticks / os.sysconf("SC_CLK_TCK")
    return total


def compare(trees: list[Path], rounds: int, claims: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="phiacta-compare-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        root.chmod(0o755)
        server = EmbeddedPostgres(root / "postgres")
        server.start()
        stack.callback(server.stop)
        clients, keys, ports = [], [], []
        for tree in trees:
            name = f"bench_{uuid.uuid4().hex[:8]}"
            admin.create_database(server.url(), name)
            url = admin.with_database(server.url(), name)
            migrate.upgrade(url, 384)
            keys.append(create_api_key(url, ["bundles:write"]))
            base = stack.enter_context(served_in_processes(url, root / name, False, 1, tree))
            ports.append(int(base.rsplit(":", 1)[1]))
            clients.append(stack.enter_context(httpx.Client(base_url=base, timeout=300)))
        for client, key in zip(clients, keys, strict=True):
            for _ in range(WARM_UP_BUNDLES):
                data_of(submit(client, make_bundle(claims, rng), key.headers))
        latencies: list[list[float]] = [[] for _ in trees]
        cpu = [0.0 for _ in trees]
        for round_ in range(rounds):
            order = range(len(trees)) if round_ % 2 == 0 else reversed(range(len(trees)))
            for i in order:
                body = make_bundle(claims, rng)
                cpu_before, started = server_cpu_seconds(ports[i]), time.perf_counter()
                data_of(submit(clients[i], body, keys[i].headers))
                latencies[i].append(time.perf_counter() - started)
                cpu[i] += server_cpu_seconds(ports[i]) - cpu_before
    return [
        {
            "tree": str(tree),
            "rounds": rounds,
            "claims_per_bundle": claims,
            "median_latency_s": round(statistics.median(latencies[i]), 4),
            "mean_latency_s": round(statistics.mean(latencies[i]), 4),
            "server_cpu_s_per_bundle": round(cpu[i] / rounds, 4),
            "claims_per_second_at_median": round(claims / statistics.median(latencies[i]), 1),
        }
        for i, tree in enumerate(trees)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("trees", type=Path, nargs=2, help="the checkouts to compare")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--claims", type=int, default=500)
    args = parser.parse_args()
    results = compare([t.resolve() for t in args.trees], args.rounds, args.claims)
    for result in results:
        print(json.dumps(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"results": results}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
