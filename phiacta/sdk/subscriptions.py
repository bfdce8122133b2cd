"""`events(types, after)` over graphql-transport-ws, resumed across dropped connections.

The server replays the outbox after the `after` id it is given and then goes live,
delivering events in id order. So after a dropped connection the stream reconnects and
subscribes again from the last id it yielded: nothing is lost, and an event at or
before that id (which a replica still catching up could send) is skipped, so nothing
is seen twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from phiacta.sdk import documents
from phiacta.sdk.errors import (
    AuthenticationError,
    PermissionDenied,
    PhiactaError,
    Unavailable,
    errors_from_response,
)
from phiacta.sdk.retry import RetryPolicy, log
from phiacta.sdk.types import Event

PROTOCOL = Subprotocol("graphql-transport-ws")
OPERATION_ID = "events"
# Close codes that another attempt cannot fix: bad or unknown key, missing scope, a
# message the server could not read.
_FATAL_CLOSE_CODES: dict[int, type[PhiactaError]] = {
    4401: AuthenticationError,
    4403: PermissionDenied,
    4400: PhiactaError,
}


class _Dropped(Exception):
    """The connection ended in a way a new connection may fix."""


async def event_stream(
    ws_url: str,
    *,
    authorization: str | None,
    types: Sequence[str] | None,
    after: str | None,
    policy: RetryPolicy,
    open_timeout: float,
) -> AsyncIterator[Event]:
    """Every event of `types` after `after`, then live ones, until the consumer stops.

    Gives up with `Unavailable` after `policy.max_retries` attempts in a row that did not
    reach an acknowledged connection; a fatal close (bad key, missing scope) raises its
    typed error at once.
    """
    stream = _Stream(ws_url, authorization, types, after, open_timeout)
    while True:
        try:
            async for event in stream.connection():
                yield event
            return
        except _Dropped as exc:
            stream.failures += 1
            if stream.failures > policy.max_retries:
                raise Unavailable(f"event stream lost: {exc}", code="UNAVAILABLE") from exc
            log.warning("phiacta event stream dropped (%s); resuming after %s", exc, stream.last)
            await asyncio.sleep(policy.backoff(stream.failures - 1))


class _Stream:
    """Where a resumable stream stands: the last id yielded and the failures in a row."""

    def __init__(
        self,
        ws_url: str,
        authorization: str | None,
        types: Sequence[str] | None,
        after: str | None,
        open_timeout: float,
    ) -> None:
        self.ws_url = ws_url
        self.authorization = authorization
        self.types = types
        self.last = after
        self.open_timeout = open_timeout
        self.failures = 0

    async def connection(self) -> AsyncIterator[Event]:
        """The events of one connection, subscribed after the last id yielded."""
        try:
            socket = await websockets.connect(
                self.ws_url,
                subprotocols=[PROTOCOL],
                open_timeout=self.open_timeout,
                max_queue=None,
            )
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            raise _Dropped(f"could not connect: {exc!r}") from exc
        async with socket:
            try:
                await _initialise(socket, self.authorization, self.open_timeout)
                self.failures = 0
                await _send(socket, _subscribe_message(self.types, self.last))
                async for message in _messages(socket):
                    kind = message.get("type")
                    if kind == "next":
                        event = _event_of(message)
                        if self.last is None or event.position > int(self.last):
                            self.last = event.id
                            yield event
                    elif kind == "error":
                        raise errors_from_response(message.get("payload") or [{}])
                    elif kind == "complete":
                        return
                # The server closed cleanly (a restart says 1001) without completing.
                raise _Dropped(_close_description(socket))
            except websockets.ConnectionClosed as exc:
                raise _closed(exc) from exc
            except (OSError, TimeoutError) as exc:
                raise _Dropped(repr(exc)) from exc


async def _initialise(
    socket: ClientConnection, authorization: str | None, open_timeout: float
) -> None:
    payload = {"Authorization": authorization} if authorization else {}
    await _send(socket, {"type": "connection_init", "payload": payload})
    async with asyncio.timeout(open_timeout):
        async for message in _messages(socket):
            if message.get("type") == "connection_ack":
                return
    raise _Dropped("closed before connection_ack")


def _subscribe_message(types: Sequence[str] | None, after: str | None) -> dict[str, Any]:
    variables = {"types": list(types) if types is not None else None, "after": after}
    return {
        "id": OPERATION_ID,
        "type": "subscribe",
        "payload": {"query": documents.EVENTS, "variables": variables},
    }


async def _messages(socket: ClientConnection) -> AsyncIterator[dict[str, Any]]:
    """The protocol's messages, with its pings answered on the way."""
    async for raw in socket:
        message = json.loads(raw)
        if not isinstance(message, dict):
            continue
        if message.get("type") == "ping":
            await _send(socket, {"type": "pong"})
            continue
        yield message


async def _send(socket: ClientConnection, message: dict[str, Any]) -> None:
    await socket.send(json.dumps(message))


def _event_of(message: dict[str, Any]) -> Event:
    payload = message.get("payload") or {}
    if payload.get("errors"):
        raise errors_from_response(payload["errors"])
    return Event.from_json(payload["data"]["events"])


def _closed(exc: websockets.ConnectionClosed) -> Exception:
    if exc.rcvd is None:
        return _Dropped("connection lost")
    code, reason = exc.rcvd.code, exc.rcvd.reason
    fatal = _FATAL_CLOSE_CODES.get(code)
    if fatal is not None:
        return fatal(reason or f"closed with {code}", code=_CODE_NAMES[code])
    return _Dropped(f"closed with {code} {reason}".strip())


def _close_description(socket: ClientConnection) -> str:
    return f"closed with {socket.close_code} {socket.close_reason or ''}".strip()


_CODE_NAMES = {4401: "UNAUTHENTICATED", 4403: "FORBIDDEN", 4400: "VALIDATION_FAILED"}
