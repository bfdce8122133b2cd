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

from tests.support import TEST_API_KEY_SALT
from tests.test_cli_serve import wait_until_ready

# What "keeps answering" means: probes answered within HEALTH_BUDGET_SECONDS, and none
# took STALL_SECONDS (what a busy event loop shows as). On a shared, loaded machine a
# single probe of an idle server sometimes takes over 100 ms (the scheduler, not the
# server), so the budget holds for TYPICAL_SHARE of the probes, the stall bound for all,
# and both grow with the machine's pace, read off an idle control server probed in
# alternation (see `health_probe`).
HEALTH_BUDGET_SECONDS = 0.1
TYPICAL_SHARE = 0.9
STALL_SECONDS = 1.0
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
    """A process asking `/health` and an idle control server in turn, one request at a
    time: (monotonic start, server seconds, control seconds) per pair, inf if failed."""

    process: subprocess.Popen[str]
    samples: list[tuple[float, float, float]]


@contextmanager
def control_server() -> Iterator[str]:
    """A bare stdlib HTTP server in its own process: the machine's pace, measured in
    alternation with the server under attack."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.health_probe", "control"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    try:
        yield f"http://127.0.0.1:{int(process.stdout.readline())}/"
    finally:
        process.kill()
        process.wait()


def _sample(line: str) -> tuple[float, float, float]:
    started, server, control = line.split()
    return float(started), _seconds(server), _seconds(control)


def _seconds(answer: str) -> float:
    return float("inf") if answer == "failed" else float(answer)


@contextmanager
def health_probe(url: str) -> Iterator[HealthProbe]:
    """Probe `/health` while the block runs; after the block's own assertions, the
    probe's: `/health` answered throughout, after the block too, never failed, and
    answered within HEALTH_BUDGET_SECONDS, or twice what the idle control took in the
    same moments when the machine itself is slower than that (a loaded, shared machine
    delays every process alike; a blocked event loop delays only the server)."""
    with control_server() as control_url:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "tests.health_probe", url, control_url),
                *(str(PROBE_INTERVAL_SECONDS), str(PROBE_TIMEOUT_SECONDS)),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "started"
        probe = HealthProbe(process, [])
        try:
            yield probe
        finally:
            ended = time.monotonic()
            # Read on until a pair that began after the block: /health answers then too.
            while line := process.stdout.readline():
                probe.samples.append(_sample(line))
                if probe.samples[-1][0] >= ended:
                    break
            process.send_signal(signal.SIGINT)
            out, _ = process.communicate(timeout=2 * PROBE_TIMEOUT_SECONDS + 5)
            probe.samples += [_sample(line) for line in out.splitlines() if line.strip()]
    assert any(started >= ended for started, _, _ in probe.samples), "no answer after the block"
    server = sorted(s for _, s, _ in probe.samples)
    control = sorted(c for _, _, c in probe.samples)
    assert server[-1] < float("inf"), "/health failed to answer"
    typical = int(len(server) * TYPICAL_SHARE)
    budget = max(HEALTH_BUDGET_SECONDS, 2 * control[typical])
    stall = max(STALL_SECONDS, 5 * control[-1])
    assert server[-1] < stall, (
        f"/health stalled for {server[-1]:.2f} s (control {control[-1]:.2f} s)"
    )
    assert server[typical] < budget, (
        f"/health took {server[typical] * 1000:.0f} ms or more in "
        f"{100 - TYPICAL_SHARE * 100:.0f} % of {len(server)} probes (budget "
        f"{budget * 1000:.0f} ms; the control took {control[typical] * 1000:.0f} ms)"
    )


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
    import asyncio

    asyncio.run(_replay(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
