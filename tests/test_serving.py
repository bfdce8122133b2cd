"""`phiacta serve --workers N`: the parent deals connections out in turn (WebSockets
included), skips a worker still starting, replaces one that dies and stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from websockets.sync.client import connect

from tests.support import database_env
from tests.test_cli_serve import base_env, free_port, wait_until_ready

DEADLINE_SECONDS = 60


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[psutil.Process]:
        children = psutil.Process(self.process.pid).children()
        return [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]

    def spread(self) -> list[int]:
        """Established connections to the server's port held by each worker."""
        counts = []
        for worker in self.workers():
            connections = worker.net_connections(kind="tcp")
            counts.append(
                sum(
                    1
                    for c in connections
                    if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == self.port
                )
            )
        return sorted(counts)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting until {what}")


def start_two_workers(database_url: str, folder: Path) -> Served:
    """`phiacta serve --workers 2` in production mode, once it answers /ready."""
    port = free_port()
    env = base_env(folder, **database_env(database_url), ENVIRONMENT="production")
    process = subprocess.Popen(
        [sys.executable, "-m", "phiacta", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=folder,
    )
    served = Served(process, port)
    try:
        wait_until_ready(served.url, process)
    except BaseException:
        process.kill()
        raise
    return served


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_two_workers(database_url, tmp_path_factory.mktemp("serving"))
    process = server.process
    try:
        wait_for(lambda: len(server.workers()) == 2, "both workers run")
        wait_for(lambda: both_serve(server), "both workers take connections")
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def clients(served: Served, count: int) -> list[httpx.Client]:
    """`count` clients, each holding one keep-alive connection that has served a request."""
    made = []
    for _ in range(count):
        client = httpx.Client(
            base_url=served.url, timeout=30, limits=httpx.Limits(max_connections=1)
        )
        assert client.get("/health").status_code == 200
        made.append(client)
    return made


def close(made: list[httpx.Client]) -> None:
    for client in made:
        client.close()


def both_serve(served: Served) -> bool:
    """Whether two new connections land on two workers: until a worker has started,
    connections go only to the ones that can serve them now."""
    made = clients(served, 2)
    try:
        return served.spread() == [1, 1]
    finally:
        close(made)
        wait_for(lambda: served.spread() == [0, 0], "the probes are closed")


def test_connections_are_dealt_out_evenly(served: Served) -> None:
    made = clients(served, 8)
    try:
        assert served.spread() == [4, 4]
        more = clients(served, 2)
        assert served.spread() == [5, 5]
        close(more)
    finally:
        close(made)
    wait_for(lambda: served.spread() == [0, 0], "every connection is closed")


def test_a_burst_of_reconnections_and_websockets_are_dealt_out_evenly(served: Served) -> None:
    ws_url = served.url.replace("http", "ws") + "/graphql"
    with connect(ws_url, subprotocols=["graphql-transport-ws"]) as websocket:  # type: ignore[list-item]
        websocket.send('{"type": "connection_init", "payload": {}}')
        assert "connection_ack" in str(websocket.recv(timeout=30))
        made = clients(served, 1)
        assert served.spread() == [1, 1]
    close(made)
    # Every client hangs up and reconnects at once, as a load generator's next run does:
    # the workers may not have noticed the hang-ups yet, and the new ones still split.
    made = clients(served, 8)
    try:
        wait_for(lambda: served.spread() == [4, 4], "only the new connections are open")
    finally:
        close(made)
    wait_for(lambda: served.spread() == [0, 0], "every connection is closed")


def test_a_killed_worker_is_replaced_and_serving_goes_on(served: Served) -> None:
    victim = served.workers()[0]
    victim.kill()
    victim.wait(timeout=30)
    wait_for(
        lambda: len(served.workers()) == 2 and victim.pid not in {w.pid for w in served.workers()},
        "a new worker replaces the killed one",
    )
    wait_for(lambda: both_serve(served), "the new worker takes connections")
    made = clients(served, 4)
    try:
        assert served.spread() == [2, 2]
    finally:
        close(made)
    wait_for(lambda: served.spread() == [0, 0], "every connection is closed")


def test_sigterm_stops_the_parent_and_every_worker(database_url: str, tmp_path: Path) -> None:
    server = start_two_workers(database_url, tmp_path)
    process = server.process
    workers = server.workers()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/health", timeout=5)
