"""`phiacta serve --workers N`: worker processes with connections dealt out evenly.

uvicorn's own `--workers` lets every worker accept from one shared listening socket:
whichever is in `accept()` first wins, so the split of keep-alive connections is left to
chance (19 against 13 of 32 was measured), and a worker holding more of them serves its
clients slower. Here the parent process alone accepts and deals the connections out in
turn, passing the socket itself over a Unix socket pair (SCM_RIGHTS). Requests never pass
through the parent: after the hand-over, client and worker talk directly.

In turn, not to the worker with the fewest open connections: a busy worker learns late
that its clients hung up, so counts of open connections lag exactly when many clients
reconnect at once (a load generator's second run was dealt 8 against 24). A worker
still starting (loading the app after a crash, say) is skipped while another can serve.

A worker that dies is started again; SIGINT or SIGTERM stops accepting, asks every
worker to finish its requests (uvicorn's graceful shutdown) and waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import selectors
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from multiprocessing.context import SpawnProcess
from typing import Any

import structlog
import uvicorn

from phiacta.config import Settings

log = structlog.get_logger(__name__)

# Parent to worker: one byte with each connection handed over. Worker to parent: one
# byte once it has started (its app's lifespan ran).
_HANDED = b"c"
_READY = b"r"
# How long stopping workers get to finish their requests before they are killed.
SHUTDOWN_SECONDS = 30.0
_spawn = multiprocessing.get_context("spawn")


@dataclass
class _Worker:
    index: int
    process: SpawnProcess
    channel: socket.socket  # the parent's end of the pair
    ready: bool = False


# How long an idle keep-alive connection stays open, and the most header bytes h11
# buffers for one request: slow or endless headers do not hold a connection for long.
KEEP_ALIVE_SECONDS = 5
MAX_HEADER_BYTES = 16 * 1024


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options every server of this app runs with (`phiacta serve`, its
    workers, and any server started in code): proxy headers only from
    FORWARDED_ALLOW_IPS, bounded keep-alive and header sizes, and request heads that
    must arrive within HEADER_TIMEOUT_SECONDS."""
    trusted = settings.forwarded_allow_ips.strip()
    return {
        # A partial, not a class made on the fly: spawned workers unpickle their options.
        "http": partial(HeadTimedProtocol, header_timeout=settings.header_timeout_seconds),
        "proxy_headers": bool(trusted),
        # None would make uvicorn read FORWARDED_ALLOW_IPS itself, or trust 127.0.0.1.
        "forwarded_allow_ips": trusted or "",
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "server_header": False,
    }


_HEAD_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class _HeadDeadline(asyncio.Protocol):
    """Mixed into a uvicorn HTTP protocol: a request's line and headers must arrive
    within `header_timeout` seconds of its first byte (of the connection opening, for
    the first request); otherwise the connection is answered 408 (if part of a head
    came) and closed.

    uvicorn has no such timeout: its keep-alive timer is cancelled by the first byte, so
    a client sending a head one byte a second holds the connection forever (slowloris).
    Idle keep-alive connections stay uvicorn's business (KEEP_ALIVE_SECONDS), and the
    body has its own deadline (REQUEST_BODY_TIMEOUT_SECONDS, in the app).
    """

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    cycle: Any  # uvicorn's RequestResponseCycle of the latest request, or None

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_started = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        serving = self.cycle
        if self._head_deadline is None and self._between_requests():
            self._arm_head_deadline()
        self._head_started = True
        super().data_received(data)
        # A new request cycle means a complete head; an upgrade hands the socket on.
        if self.cycle is not serving or self.transport.get_protocol() is not self:
            self._disarm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        return self.cycle is None or bool(self.cycle.response_complete)

    def _arm_head_deadline(self) -> None:
        self._head_started = False
        self._head_deadline = self.loop.call_later(self._header_timeout, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        transport = self.transport
        if transport.is_closing() or transport.get_protocol() is not self:
            return
        if not self._between_requests():
            return  # a request is being served: its head did arrive
        if self._head_started:
            transport.write(_HEAD_TIMED_OUT)
        transport.close()


# What uvicorn's "auto" picks too: httptools when installed (uvicorn[standard]), else h11.
try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover
    from uvicorn.protocols.http.h11_impl import H11Protocol as _Base  # type: ignore[assignment]


class HeadTimedProtocol(_HeadDeadline, _Base):
    """uvicorn's HTTP protocol with a deadline on request heads."""


def serve_balanced(
    host: str, port: int, workers: int, uvicorn_options: dict[str, Any], backlog: int = 2048
) -> None:
    """Listen on host:port and run `workers` uvicorn workers until SIGINT or SIGTERM."""
    listener = socket.create_server((host, port), backlog=backlog, reuse_port=False)
    listener.setblocking(False)
    log.info("listening", host=host, port=port, workers=workers, balancing="round robin")
    _Supervisor(listener, workers, uvicorn_options).run()


class _Supervisor:
    def __init__(self, listener: socket.socket, count: int, options: dict[str, Any]) -> None:
        self.listener = listener
        self.options = options
        self.selector = selectors.DefaultSelector()
        self.workers: list[_Worker] = []
        self.turn = 0
        self.stopping = False
        self.wakeup_read, wakeup_write = socket.socketpair()
        self.wakeup_read.setblocking(False)
        wakeup_write.setblocking(False)
        self._wakeup_write = wakeup_write
        for index in range(count):
            self.workers.append(self._start(index))

    def _start(self, index: int) -> _Worker:
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        process = _spawn.Process(
            target=_worker_main, args=(self.options, child_end), name=f"phiacta-worker-{index}"
        )
        process.start()
        child_end.close()
        parent_end.setblocking(False)
        worker = _Worker(index, process, parent_end)
        self.selector.register(parent_end, selectors.EVENT_READ, ("channel", worker))
        self.selector.register(process.sentinel, selectors.EVENT_READ, ("exit", worker))
        return worker

    def run(self) -> None:
        previous = {
            sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        old_fd = signal.set_wakeup_fd(self._wakeup_write.fileno(), warn_on_full_buffer=False)
        self.selector.register(self.wakeup_read, selectors.EVENT_READ, ("signal", None))
        self.selector.register(self.listener, selectors.EVENT_READ, ("accept", None))
        try:
            while not self.stopping:
                for key, _ in self.selector.select():
                    kind, worker = key.data
                    if kind == "accept":
                        self._accept()
                    elif kind == "channel":
                        self._news_from(worker)
                    elif kind == "exit":
                        self._exited(worker)
                    else:
                        self.stopping = True
        finally:
            signal.set_wakeup_fd(old_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._stop()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. EMFILE: keep serving the connections we have
                log.warning("accept_failed", error=str(exc))
                return
            with connection:
                self._hand_over(connection)

    def _hand_over(self, connection: socket.socket) -> None:
        alive = [w for w in self.workers if w.process.is_alive()]
        ready = [w for w in alive if w.ready] or alive
        if not ready:
            return  # closing the connection tells the client to retry
        worker = ready[self.turn % len(ready)]
        self.turn += 1
        try:
            socket.send_fds(worker.channel, [_HANDED], [connection.fileno()])
        except OSError as exc:
            log.warning("handover_failed", worker=worker.index, error=str(exc))

    def _news_from(self, worker: _Worker) -> None:
        try:
            data = worker.channel.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the worker is gone; its exit sentinel says so too
            self._forget_channel(worker)
            return
        worker.ready = worker.ready or _READY in data

    def _forget_channel(self, worker: _Worker) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(worker.channel)

    def _exited(self, worker: _Worker) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(worker.process.sentinel)
        self._forget_channel(worker)
        worker.channel.close()
        worker.process.join()
        if self.stopping:
            return
        log.error("worker_died", worker=worker.index, exitcode=worker.process.exitcode)
        self.workers[worker.index] = self._start(worker.index)

    def _stop(self) -> None:
        self.selector.unregister(self.listener)
        self.listener.close()
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        for worker in self.workers:
            worker.process.join(SHUTDOWN_SECONDS)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.channel.close()
        self.selector.close()
        log.info("stopped")


def _worker_main(options: dict[str, Any], channel: socket.socket) -> None:
    """A spawned worker: a uvicorn server fed connections through `channel`."""
    with contextlib.suppress(KeyboardInterrupt):
        _ChannelServer(uvicorn.Config(**options), channel).run(sockets=[])


class _ChannelServer(uvicorn.Server):
    """A uvicorn server that listens on nothing and serves the connections it is sent."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])
        if self.should_exit:
            return
        config = self.config
        protocol_class: Any = config.http_protocol_class
        factory = partial(
            protocol_class,
            config=config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
        loop = asyncio.get_running_loop()
        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._receive, loop, factory)
        with contextlib.suppress(OSError):
            self.channel.send(_READY)

    def _receive(self, loop: asyncio.AbstractEventLoop, factory: Callable[[], Any]) -> None:
        while True:
            try:
                _, fds, _, _ = socket.recv_fds(self.channel, 64, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                fds = []
                self.should_exit = True
            if not fds:
                # The parent went away (or sent nothing): stop taking connections.
                loop.remove_reader(self.channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                connection = socket.socket(fileno=fd)
                connection.setblocking(False)
                loop.create_task(self._serve_connection(loop, factory, connection))

    async def _serve_connection(
        self,
        loop: asyncio.AbstractEventLoop,
        factory: Callable[[], Any],
        connection: socket.socket,
    ) -> None:
        try:
            await loop.connect_accepted_socket(factory, connection)
        except OSError:
            connection.close()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(self.channel.fileno())
        await super().shutdown(sockets=sockets)
