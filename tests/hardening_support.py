"""Helpers for the hardening tests: a server in its own process, and a `/health` probe
in another, so neither shares an interpreter lock with the test that attacks it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import TEST_API_KEY_SALT
from tests.test_cli_serve import wait_until_ready

# What "keeps answering" means: probes answered within HEALTH_BUDGET_SECONDS, and none
# took STALL_SECONDS (what a busy event loop shows as). On a shared, loaded machine a
# single probe of an idle server sometimes takes over 100 ms (the scheduler, not the
# server), so the budget holds for TYPICAL_SHARE of the probes, the stall bound for all,
# and both grow with the machine's pace measured just before (see `health_probe`).
HEALTH_BUDGET_SECONDS = 0.1
TYPICAL_SHARE = 0.9
STALL_SECONDS = 1.0
BASELINE_PROBES = 10
PROBE_TIMEOUT_SECONDS = 5.0
PROBE_INTERVAL_SECONDS = 0.01


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ServedProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"


@contextmanager
def serve_process(database_url: str, data_dir: Path, **settings: str) -> Iterator[ServedProcess]:
    """`phiacta serve` on a free port against `database_url`, with `settings` as
    environment variables; its output goes to a log file in `data_dir`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PHIACTA_"))}
    env |= {
        "DATABASE_URL": database_url,
        "PHIACTA_DATA_DIR": str(data_dir),
        "ENVIRONMENT": "development",
        "EMBEDDING_PROVIDER": "local",
        "DATABASE_POOL_SIZE": "4",
        "LOG_LEVEL": "warning",
        "API_KEY_SALT": TEST_API_KEY_SALT,
        "RATE_LIMITS": ",".join(
            f"{g}=1000000"
            for g in (
                "claims:read",
                "claims:write",
                "bundles:write",
                "reviews:write",
                "search",
                "admin",
            )
        ),
        **{k.upper(): v for k, v in settings.items()},
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "phiacta", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = ServedProcess(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_ready(served.url, process)
        yield served
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class HealthProbe:
    """A process asking `/health` again and again, one request at a time."""

    process: subprocess.Popen[str]
    latencies: list[float]


@contextmanager
def health_probe(url: str) -> Iterator[HealthProbe]:
    """Probe `/health` while the block runs; after the block's own assertions, the
    probe's: it answered throughout, never failed, never over HEALTH_BUDGET_SECONDS."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.hardening_support", url],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "started"
    # The machine's own pace, before the block: on a loaded, shared machine even an idle
    # server answers slower than the budget, which then scales with it.
    baseline = sorted(float(process.stdout.readline()) for _ in range(BASELINE_PROBES))
    budget = max(HEALTH_BUDGET_SECONDS, 2 * baseline[int(BASELINE_PROBES * TYPICAL_SHARE)])
    stall = max(STALL_SECONDS, 10 * baseline[BASELINE_PROBES // 2])
    probe = HealthProbe(process, [])
    try:
        yield probe
    finally:
        time.sleep(3 * PROBE_INTERVAL_SECONDS)  # an answer after the block, too
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=PROBE_TIMEOUT_SECONDS + 5)
    for line in out.split():
        probe.latencies.append(float("inf") if line == "failed" else float(line))
    assert probe.latencies, "the health probe never got an answer"
    latencies = sorted(probe.latencies)
    typical = latencies[int(len(latencies) * TYPICAL_SHARE)]
    assert latencies[-1] < stall, f"/health stalled for {latencies[-1]:.2f} s"
    assert typical < budget, (
        f"/health took {typical * 1000:.0f} ms or more in {100 - TYPICAL_SHARE * 100:.0f} % "
        f"of {len(latencies)} probes (budget {budget * 1000:.0f} ms)"
    )


def _probe(url: str) -> None:
    with httpx.Client(base_url=url, timeout=PROBE_TIMEOUT_SECONDS) as http:
        http.get("/health")  # connected before timing starts
        print("started", flush=True)
        try:
            while True:
                started = time.perf_counter()
                try:
                    ok = http.get("/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - started
                print(f"{elapsed:.6f}" if ok else "failed", flush=True)
                time.sleep(PROBE_INTERVAL_SECONDS)
        except KeyboardInterrupt:
            return


async def _replay(ws_url: str, subscriptions: int, events: int) -> None:
    """One socket replaying the outbox `subscriptions` times, read as fast as it comes."""
    from tests.live_client import LiveClient

    async with LiveClient.connect(ws_url) as client:
        ops = [
            await client.subscribe('subscription { events(after: "0") { id type } }')
            for _ in range(subscriptions)
        ]
        received = 0
        while received < subscriptions * events:
            message = await client._receive()
            assert message.get("type") in ("next", "ping"), message
            received += message.get("type") == "next"
            if received == subscriptions:
                print("replaying", flush=True)
        print(f"received {received} {len(ops)}", flush=True)


@contextmanager
def replaying(ws_url: str, subscriptions: int, events: int) -> Iterator[subprocess.Popen[str]]:
    """A process replaying the outbox over one socket while the block runs (from its
    first events on); the block can check `process.poll()` to know whether the replay
    was still going."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.hardening_support", ws_url, str(subscriptions), str(events)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "replaying"
        yield process
    finally:
        process.kill()
        process.wait()


if __name__ == "__main__":
    if len(sys.argv) == 2:
        _probe(sys.argv[1])
    else:
        import asyncio

        asyncio.run(_replay(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
