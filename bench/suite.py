"""`make bench` and `make bench-quick`: every read and write measurement, per graph size,
with a JSON result, a Markdown report and plots.

    .venv/bin/python -m bench.suite --claims 10000 [100000 1000000] [--iterations 100]

For each size: generates the graph with bench/generate.py unless its database exists,
then measures over HTTP, from this process while the server runs in processes of its
own (`phiacta serve`), each operation beside its raw-SQL floor in the same run
(bench/read.py: claim by id, the page of 50 with nested edges, the three search modes,
traversal at depths 1/3/5/10, path; throughput at concurrency 32 against 2 workers with
wrk), then a 500-claim bundle (bench/ingest.py) and subscription fan-out
(bench/subscriptions.py). Writes bench/results/<date>-<size>.json, then
bench/results/<date>-report.md and PNG plots (latency and throughput against graph size,
one line per operation, and the HTTP/SQL ratio).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import psycopg

from bench import ingest, read
from phiacta.db import admin
from phiacta.db.embedded import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"


def has_graph(url: str) -> bool:
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM claims").fetchone()
    except psycopg.Error:
        return False
    return bool(row and row[0] > 0)


def generate(claims: int, data_dir: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/generate.py"),
            "--claims",
            str(claims),
            "--data-dir",
            str(data_dir),
        ],
        check=True,
        cwd=ROOT,
    )


def bundle_of_500(url: str, data_dir: Path) -> dict[str, Any]:
    return ingest.run(
        url,
        data_dir / "ingest",
        embed=False,
        bundles=5,
        claims=500,
        concurrency=2,
        server_workers=1,
    )


def fanout(subscribers: int) -> dict[str, Any]:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/subscriptions.py"),
            "--subscribers",
            str(subscribers),
            "--events",
            "10",
            "--client-processes",
            "2",
        ],
        check=True,
        cwd=ROOT,
    )
    report: dict[str, Any] = json.loads((RESULTS / "subscriptions.json").read_text())
    return report


def measure(claims: int, data_dir: Path, iterations: int, subscribers: int) -> dict[str, Any]:
    pg = EmbeddedPostgres(data_dir)
    pg.start()
    try:
        url = admin.with_database(pg.url(), f"bench_{claims}")
        if not has_graph(url):
            generate(claims, data_dir)
        results = asyncio.run(read.measure_size(url, iterations))
        results["bundle_500_claims"] = bundle_of_500(url, data_dir)
    finally:
        pg.stop()
    results["subscription_fanout"] = fanout(subscribers)
    return {"claims": claims, **results}


def report_table(by_size: dict[int, dict[str, Any]]) -> str:
    lines = ["| size | operation | HTTP p50 ms | SQL floor p50 ms | HTTP - floor ms |"]
    lines.append("|---|---|---|---|---|")
    for size, results in by_size.items():
        for name, http in results["http"].items():
            floor = results["sql"].get(name, {}).get("p50_ms")
            gap = round(http["p50_ms"] - floor, 3) if floor is not None else "-"
            lines.append(
                f"| {size:,} | {name} | {http['p50_ms']} | {floor if floor else '-'} | {gap} |"
            )
    lines += ["", "| size | throughput c=32, 2 workers (claim by id) | req/s |", "|---|---|---|"]
    for size, results in by_size.items():
        wrk = results.get("throughput_wrk") or {}
        lines.append(f"| {size:,} | wrk | {wrk.get('req_per_s', '-')} |")
        lines.append(f"| {size:,} | httpx client | {results['throughput'].get('req_per_s', '-')} |")
    lines += ["", "| size | 500-claim bundle median s | fan-out p50 delay ms |", "|---|---|---|"]
    for size, results in by_size.items():
        bundle = results["bundle_500_claims"]["median_latency_s"]
        delay = results["subscription_fanout"]["delay_ms"]["p50"]
        lines.append(f"| {size:,} | {bundle} | {delay} |")
    return "\n".join(lines) + "\n"


def plots(by_size: dict[int, dict[str, Any]], stem: str) -> list[Path]:
    sizes = sorted(by_size)
    names = list(by_size[sizes[0]]["http"])
    written = []
    figure, axes = plt.subplots(figsize=(8, 5))
    for name in names:
        axes.plot(
            sizes, [by_size[s]["http"][name]["p50_ms"] for s in sizes], marker="o", label=name
        )
    axes.set(xscale="log", yscale="log", xlabel="claims", ylabel="HTTP p50 (ms)")
    axes.legend(fontsize=7)
    axes.set_title("Latency at concurrency 1 against graph size")
    written.append(RESULTS / f"{stem}-latency.png")
    figure.savefig(written[-1], dpi=100)
    figure, axes = plt.subplots(figsize=(8, 5))
    rates = [(by_size[s].get("throughput_wrk") or by_size[s]["throughput"]) for s in sizes]
    axes.plot(sizes, [r.get("req_per_s") or 0 for r in rates], marker="o", label="claim by id")
    axes.set(xscale="log", xlabel="claims", ylabel="req/s (c=32, 2 workers)")
    axes.legend()
    axes.set_title("Throughput against graph size")
    written.append(RESULTS / f"{stem}-throughput.png")
    figure.savefig(written[-1], dpi=100)
    figure, axes = plt.subplots(figsize=(8, 5))
    for name in names:
        ratios = []
        for s in sizes:
            floor = by_size[s]["sql"].get(name, {}).get("p50_ms")
            ratios.append(by_size[s]["http"][name]["p50_ms"] / floor if floor else float("nan"))
        axes.plot(sizes, ratios, marker="o", label=name)
    axes.set(xscale="log", xlabel="claims", ylabel="HTTP p50 / SQL floor p50")
    axes.legend(fontsize=7)
    axes.set_title("Server over SQL")
    written.append(RESULTS / f"{stem}-ratio.png")
    figure.savefig(written[-1], dpi=100)
    plt.close("all")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, nargs="+", default=[10_000])
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "phiacta-bench"
    )
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--subscribers", type=int, default=200)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    by_size: dict[int, dict[str, Any]] = {}
    for claims in args.claims:
        by_size[claims] = measure(claims, args.data_dir, args.iterations, args.subscribers)
        out = RESULTS / f"{date}-{claims}.json"
        out.write_text(json.dumps(by_size[claims], indent=2) + "\n")
        print(f"wrote {out}")
    stem = f"{date}-" + "-".join(str(c) for c in args.claims)
    report = RESULTS / f"{stem}-report.md"
    images = plots(by_size, stem)
    report.write_text(
        f"# Phiacta benchmark, {date}\n\n"
        + report_table(by_size)
        + "\n"
        + "".join(f"![{p.stem}]({p.name})\n" for p in images)
    )
    print(report.read_text())
    print(f"wrote {report}")


if __name__ == "__main__":
    main()
