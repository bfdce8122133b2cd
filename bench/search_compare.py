"""Two checkouts' `search` compared on one generated graph, in the same minutes.

    .venv/bin/python bench/generate.py --claims 10000 --data-dir /tmp/phiacta-bench
    .venv/bin/python -m bench.search_compare OLD_TREE NEW_TREE --claims 10000 \\
        [--data-dir /tmp/phiacta-bench] [--rounds 200] [--seconds 10]

The three search queries of `bench/read.py` (`search_semantic`, `search_fulltext`,
`search_hybrid`, 20 hits each, queries drawn from its SEARCH_TEXTS), run as
`bench/read_compare.py` runs its reads: latency at concurrency 1 with both trees serving
at once (`--workers 1`) and each round sent to one then the other, alternating which
goes first, with the CPU per request of each server's processes and of PostgreSQL's;
then throughput at concurrency 32 against `--workers 2` with wrk, trees alternating run
by run. Answers of both trees are compared in every latency round. Prints and writes
bench/results/search_compare-<claims>[<out>].json.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench.read import QUERIES as READ_QUERIES
from bench.read import SEARCH_TEXTS, wrk_run
from bench.read_compare import (
    RESULTS,
    cpu_seconds,
    peak_rss_mb,
    postgres_pids,
    process_tree,
    serving,
    stats,
)
from phiacta.db import admin
from phiacta.db.embedded import EmbeddedPostgres

QUERIES = {name: READ_QUERIES[name] for name in READ_QUERIES if name.startswith("search_")}


# The queries sent (`--texts`); bench/read.py's by default. Its words are not tokens of
# the generated graph's content (`cardiotherapy` has no `therapy`), so full text finds
# nothing with them: pass words of bench/generate.py's WORDS to measure hits.
TEXTS = list(SEARCH_TEXTS)


def bodies(query: str) -> list[str]:
    return [json.dumps({"query": query, "variables": {"q": text}}) for text in TEXTS]


def latency(trees: list[Path], url: str, rounds: int, pgdata: Path) -> dict[str, Any]:
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
                body = {"query": query, "variables": {"q": rng.choice(TEXTS)}}
                order = range(len(trees)) if round_ % 2 == 0 else reversed(range(len(trees)))
                answers = []
                for i in order:
                    backends = postgres_pids(pgdata)
                    pg_before = cpu_seconds(backends)
                    before, started = cpu_seconds(pids[i]), time.perf_counter()
                    response = clients[i].post("/graphql", json=body)
                    elapsed = time.perf_counter() - started
                    after = cpu_seconds(pids[i])
                    assert response.status_code == 200 and "errors" not in response.json()
                    answers.append(response.json())
                    if round_ >= 10:  # the first rounds warm up plans and caches
                        samples[i].append(elapsed)
                        cpu[i] += after - before
                        pg_cpu[i] += cpu_seconds(backends) - pg_before
                assert all(answer == answers[0] for answer in answers), name
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


def throughput(
    trees: list[Path], url: str, seconds: int, pgdata: Path, rounds: int
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, query in QUERIES.items():
        rates: list[list[float]] = [[] for _ in trees]
        cpu: list[list[float]] = [[] for _ in trees]
        rss: list[list[float]] = [[] for _ in trees]
        for round_ in range(rounds):
            order = range(len(trees)) if round_ % 2 == 0 else reversed(range(len(trees)))
            for i in order:
                with serving(trees[i], url, 2) as (base, pid):
                    wrk_run(base, bodies(query), 32, 2)  # warm-up
                    workers, backends = process_tree(pid), postgres_pids(pgdata)
                    before = cpu_seconds(workers) + cpu_seconds(backends)
                    run = wrk_run(base, bodies(query), 32, seconds)
                    assert run["non_2xx"] == 0, run
                    spent = cpu_seconds(workers) + cpu_seconds(backends) - before
                    rates[i].append(run["req_per_s"])
                    cpu[i].append(spent / max(run["requests"], 1) * 1000)
                    rss[i] += peak_rss_mb(pid)
        results[name] = [
            {
                "tree": str(tree),
                "req_per_s": [round(r, 1) for r in rates[i]],
                "cpu_ms_per_request_server_and_postgres": [round(c, 3) for c in cpu[i]],
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
    parser.add_argument("--throughput-rounds", type=int, default=2)
    parser.add_argument("--texts", nargs="+", default=SEARCH_TEXTS)
    parser.add_argument("--out", default="", help="a suffix for the result file's name")
    args = parser.parse_args()
    TEXTS[:] = args.texts
    trees = [tree.resolve() for tree in args.trees]
    pg = EmbeddedPostgres(args.data_dir)
    pg.start()
    url = admin.with_database(pg.url(), f"bench_{args.claims}")
    try:
        report: dict[str, Any] = {
            "claims": args.claims,
            "texts": TEXTS,
            "load_average_at_start": Path("/proc/loadavg").read_text().split()[:3],
            "latency_c1": latency(trees, url, args.rounds, pg.pgdata),
        }
        print(json.dumps(report, indent=2), flush=True)
        if shutil.which("wrk") and args.throughput_rounds:
            report["throughput_c32_2_workers"] = throughput(
                trees, url, args.seconds, pg.pgdata, args.throughput_rounds
            )
        report["load_average_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
        print(json.dumps(report, indent=2))
    finally:
        pg.stop()  # started here: stopped here, whatever happened
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"search_compare-{args.claims}{args.out}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
