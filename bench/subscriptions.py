"""Delay from commit to delivery with many concurrent subscribers on one server process.

    .venv/bin/python bench/subscriptions.py [--subscribers 1000] [--events 40]
        [--interval 0.25] [--client-processes 4]

Starts an embedded PostgreSQL in a temporary folder and one `phiacta serve` process (one
uvicorn worker), opens `--subscribers` WebSockets (graphql-transport-ws), each with
`events(types: ["claim_created"])`, spread over `--client-processes` client processes.
Once every subscriber has seen a warm-up event, it commits `--events` events one per
transaction, `--interval` seconds apart, noting the wall-clock time just before each
COMMIT. Each client notes when each event arrived. Delay = arrival - commit, over every
(subscriber, event) pair. Prints p50/p90/p99/max and writes bench/results/subscriptions.json,
with the server's CPU time while the measured events were written (per delivery), each
client process's CPU time, and the machine's load average before and after. Clients,
server and PostgreSQL share this machine's cores, so the figures are an upper bound of
what the server alone adds; the client processes, each parsing every message of its
subscribers, are spread over more processes than cores so that no single client
process is the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import websockets

from phiacta.db import admin, migrate
from phiacta.db.embedded import EmbeddedPostgres
from phiacta.store.events import append_event

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "subscriptions.json"
SUBSCRIPTION = 'subscription { events(types: ["claim_created"]) { id payload } }'
DIMENSIONS = 384


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(database_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "PHIACTA_DATA_DIR": str(data_dir),
        "ENVIRONMENT": "production",
        "EMBEDDING_PROVIDER": "local",
        "LOG_LEVEL": "warning",
        "RATE_LIMIT_ENABLED": "false",
        "DATABASE_POOL_SIZE": "5",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "phiacta", "serve", "--port", str(port)], env=env, cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/ready", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not become ready")


async def run_clients(ws_url: str, count: int, ready: Any, results: Any, last_seq: int) -> None:
    """One client process: `count` subscribers; reports readiness, then arrival times."""
    arrivals: list[tuple[int, float]] = []
    warm = asyncio.Event()
    warmed = 0

    async def subscriber() -> None:
        nonlocal warmed
        async with websockets.connect(
            ws_url, subprotocols=["graphql-transport-ws"], max_queue=None, open_timeout=60
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})
            )
            seen_warmup = False
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "ping":
                    await ws.send('{"type":"pong"}')
                    continue
                if message["type"] != "next":
                    continue
                now = time.time()
                payload = message["payload"]["data"]["events"]["payload"]
                if "warmup" in payload:
                    if not seen_warmup:
                        seen_warmup = True
                        warmed += 1
                        if warmed == count:
                            warm.set()
                    continue
                arrivals.append((int(payload["seq"]), now))
                if payload["seq"] == last_seq:
                    return

    tasks = []
    for _ in range(count):
        tasks.append(asyncio.create_task(subscriber()))
        await asyncio.sleep(0.002)
    await warm.wait()
    ready.put(count)
    await asyncio.gather(*tasks)
    cpu = os.times()
    results.put((arrivals, cpu.user + cpu.system))


def client_process(ws_url: str, count: int, ready: Any, results: Any, last_seq: int) -> None:
    asyncio.run(run_clients(ws_url, count, ready, results, last_seq))


async def write_until_ready(database_url: str, ready: Any, subscribers: int) -> None:
    ready_count = 0
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        deadline = time.monotonic() + 300
        while ready_count < subscribers:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {ready_count} of {subscribers} subscribers got ready")
            await append_event(conn, "claim_created", {"warmup": True})
            await conn.commit()
            await asyncio.sleep(0.5)
            while True:
                try:
                    ready_count += ready.get_nowait()
                except queue.Empty:
                    break


async def write_measured(database_url: str, events: int, interval: float) -> dict[int, float]:
    commits: dict[int, float] = {}
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        for seq in range(1, events + 1):
            await append_event(conn, "claim_created", {"seq": seq})
            commits[seq] = time.time()
            await conn.commit()
            await asyncio.sleep(interval)
    return commits


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: list[float], p: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.25)
    parser.add_argument("--client-processes", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="phiacta-bench-subs-") as tmp:
        server_pg = EmbeddedPostgres(Path(tmp) / "pg", port=free_port())
        server_pg.start()
        process: subprocess.Popen[bytes] | None = None
        try:
            admin.create_database(server_pg.url(), "bench")
            database_url = admin.with_database(server_pg.url(), "bench")
            migrate.upgrade(database_url, DIMENSIONS)
            process, url = start_server(database_url, Path(tmp) / "data")
            ws_url = url.replace("http://", "ws://") + "/graphql"
            ready: Any = multiprocessing.Queue()
            results: Any = multiprocessing.Queue()
            shares = [
                args.subscribers // args.client_processes
                + (1 if i < args.subscribers % args.client_processes else 0)
                for i in range(args.client_processes)
            ]
            clients = [
                multiprocessing.Process(
                    target=client_process, args=(ws_url, n, ready, results, args.events)
                )
                for n in shares
            ]
            for client in clients:
                client.start()
            started = time.monotonic()
            asyncio.run(write_until_ready(database_url, ready, args.subscribers))
            setup_s = time.monotonic() - started
            load_before = os.getloadavg()[0]
            server_cpu = process_cpu_seconds(process.pid)
            commits = asyncio.run(write_measured(database_url, args.events, args.interval))
            server_cpu = process_cpu_seconds(process.pid) - server_cpu
            outcomes = [results.get(timeout=120) for _ in clients]
            arrivals = [pair for pairs, _ in outcomes for pair in pairs]
            client_cpu = [round(cpu, 2) for _, cpu in outcomes]
            load_after = os.getloadavg()[0]
            for client in clients:
                client.join(timeout=30)
        finally:
            if process is not None:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=60)
            server_pg.stop()

    delays_ms = sorted((arrived - commits[seq]) * 1000 for seq, arrived in arrivals)
    expected = args.subscribers * args.events
    report = {
        "subscribers": args.subscribers,
        "events": args.events,
        "interval_s": args.interval,
        "client_processes": args.client_processes,
        "deliveries": len(delays_ms),
        "deliveries_expected": expected,
        "setup_s": round(setup_s, 1),
        # Where the CPU went: the server while the measured events were written, and
        # each client process over its whole run (connecting and warm-up included).
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_us_per_delivery": round(server_cpu / max(1, len(delays_ms)) * 1e6, 1),
        "client_cpu_s": client_cpu,
        # The machine is shared: the 1-minute load average before and after.
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "delay_ms": {
            "p50": round(statistics.median(delays_ms), 1),
            "p90": round(percentile(delays_ms, 90), 1),
            "p99": round(percentile(delays_ms, 99), 1),
            "max": round(delays_ms[-1], 1),
        },
        "target_p99_ms": 250,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    print(json.dumps(report, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
