"""Benchmark of submitBundle over HTTP: 500-claim bundles with local embeddings and with
embeddings off. Prints the figures and writes bench/results/ingest.json.

    .venv/bin/python -m bench.ingest [--bundles 20] [--claims 500] [--concurrency 4]

Starts its own embedded PostgreSQL in a temporary folder and a real uvicorn server.
Latency and `claims_per_second` come from `--bundles` bundles sent one after another;
`claims_per_second_concurrent` from as many more sent by `--concurrency` clients at once
(the server's Python and PostgreSQL then work at the same time, as under real load).
`cpu_s_per_bundle` is the CPU time of this process (server and client) per sequential
bundle: unlike wall time, it is barely moved by other load on the machine.

By default the server runs in a thread of this process, so client and server share one
interpreter lock. `--server-workers N` runs it as production does instead,
`phiacta serve --workers N` in processes of its own (`cpu_s_per_bundle` then counts the
client only).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from phiacta.config import Settings
from phiacta.db import admin, migrate
from phiacta.db.embedded import EmbeddedPostgres
from tests.support import LiveServer, create_api_key, data_of, make_settings
from tests.write_support import submit

RESULTS = Path(__file__).parent / "results" / "ingest.json"
WORDS = [
    "aspirin",
    "lowers",
    "risk",
    "heart",
    "attack",
    "adults",
    "cohort",
    "trial",
    "protein",
    "binds",
    "receptor",
    "gene",
    "expression",
    "increases",
    "under",
    "stress",
    "mice",
    "neurons",
    "fire",
    "rate",
    "dose",
    "response",
    "effect",
    "size",
    "vaccine",
    "antibody",
    "titre",
    "decline",
    "months",
    "infection",
    "severity",
    "temperature",
    "pressure",
]


def make_bundle(claims: int, rng: random.Random) -> dict[str, Any]:
    tag = uuid.uuid4().hex
    return {
        "idempotencyKey": f"bench-{tag}",
        "source": {"sourceType": "PAPER", "title": f"bench paper {tag}"},
        "claims": [
            {
                "tempId": f"c{i}",
                "content": " ".join(rng.choices(WORDS, k=14)) + f" ({tag[:8]}-{i})",
                "confidence": 0.8,
            }
            for i in range(claims)
        ],
        "edges": [
            {
                "source": {"tempId": f"c{i}"},
                "target": {"tempId": f"c{i - 1}"},
                "edgeType": "supports",
            }
            for i in range(1, claims)
        ],
    }


def _settings(database_url: str, data_dir: Path, embed: bool) -> Settings:
    return make_settings(
        database_url,
        data_dir,
        embed_on_write=embed,
        matview_refresh_seconds=0,
        database_pool_size=4,
    )


@contextmanager
def served_in_thread(database_url: str, data_dir: Path, embed: bool) -> Iterator[str]:
    with LiveServer.run(_settings(database_url, data_dir, embed)) as server:
        yield server.url


@contextmanager
def served_in_processes(
    database_url: str, data_dir: Path, embed: bool, workers: int, tree: Path | None = None
) -> Iterator[str]:
    """`phiacta serve --workers N` with the thread server's settings, as environment;
    with `tree`, the code of that checkout instead of this one (same virtualenv)."""
    settings = _settings(database_url, data_dir, embed)
    salt = settings.api_key_salt
    env = os.environ | {
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "production",
        "EMBED_ON_WRITE": str(embed).lower(),
        "EMBEDDING_PROVIDER": "local",
        "MATVIEW_REFRESH_SECONDS": "0",
        "DATABASE_POOL_SIZE": str(settings.database_pool_size),
        "PHIACTA_DATA_DIR": str(data_dir),
        "API_KEY_SALT": salt.get_secret_value() if salt else "",
        "LOG_LEVEL": "warning",
        "RATE_LIMIT_ENABLED": "false",
    }
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "phiacta", "serve", "--port", str(port)]
    process = subprocess.Popen([*command, "--workers", str(workers)], env=env, cwd=tree)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _ready(url):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not become ready")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def run(
    database_url: str,
    data_dir: Path,
    *,
    embed: bool,
    bundles: int,
    claims: int,
    concurrency: int,
    server_workers: int,
) -> dict[str, Any]:
    key = create_api_key(database_url, ["bundles:write"])
    rng = random.Random(7)
    bodies = [make_bundle(claims, rng) for _ in range(2 * bundles + 1)]
    latencies = []
    serving = (
        served_in_processes(database_url, data_dir, embed, server_workers)
        if server_workers
        else served_in_thread(database_url, data_dir, embed)
    )
    with serving as url, httpx.Client(base_url=url, timeout=300) as http:
        data_of(submit(http, bodies[0], key.headers))  # warm-up: model load, caches
        started, cpu_started = time.perf_counter(), time.process_time()
        for body in bodies[1 : bundles + 1]:
            t0 = time.perf_counter()
            data_of(submit(http, body, key.headers))
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started

        def send(body: dict[str, Any]) -> None:
            with httpx.Client(base_url=url, timeout=300) as client:
                data_of(submit(client, body, key.headers))

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(send, bodies[bundles + 1 :]))
        concurrent_elapsed = time.perf_counter() - started
    return {
        "embeddings": "local" if embed else "off",
        "bundles": bundles,
        "claims_per_bundle": claims,
        "median_latency_s": round(statistics.median(latencies), 4),
        "p90_latency_s": round(sorted(latencies)[int(0.9 * (len(latencies) - 1))], 4),
        "claims_per_second": round(bundles * claims / elapsed, 1),
        "cpu_s_per_bundle": round(cpu / bundles, 4),
        "concurrency": concurrency,
        "claims_per_second_concurrent": round(bundles * claims / concurrent_elapsed, 1),
        "server": f"{server_workers} worker processes" if server_workers else "in-process thread",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundles", type=int, default=20)
    parser.add_argument("--claims", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--server-workers", type=int, default=0, help="0: a thread of this process")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="phiacta-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        server = EmbeddedPostgres(root / "postgres")
        server.start()
        try:
            results = []
            for embed in (True, False):
                name = f"bench_{uuid.uuid4().hex[:8]}"
                admin.create_database(server.url(), name)
                url = admin.with_database(server.url(), name)
                migrate.upgrade(url, 384)
                result = run(
                    url,
                    root / name,
                    embed=embed,
                    bundles=args.bundles,
                    claims=args.claims,
                    concurrency=args.concurrency,
                    server_workers=args.server_workers,
                )
                print(json.dumps(result))
                results.append(result)
        finally:
            server.stop()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # Other work on the machine moves the wall-clock figures: the load is part of them.
    load = {"before": load_before, "after": os.getloadavg(), "cpus": os.cpu_count()}
    RESULTS.write_text(json.dumps({"results": results, "load_average": load}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
