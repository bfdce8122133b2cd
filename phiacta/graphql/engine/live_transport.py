"""The graphql-transport-ws handler: API-key auth at `connection_init`, and keep-alive pings.

The key travels in the `connection_init` payload (`{"Authorization": "Bearer <key>"}`;
`authorization` is accepted too), because browsers cannot set headers on a WebSocket.
A bad, revoked or missing-but-required key closes the socket with 4401; a valid key
without `claims:read` when reads are not public closes it with 4403. Each subscription
then checks its own permission classes, like a query.

A socket authenticated with a key is closed with 4403 as soon as the key is revoked, on
whichever replica the revocation happened (an `api_key_revoked` event on the bus).

Strawberry's handler for this protocol has no keep-alive of its own: once the
connection is acknowledged, the server sends a protocol `ping` every
SUBSCRIPTION_KEEP_ALIVE_SECONDS so proxies keep an idle socket open and dead clients
are noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Awaitable
from typing import Any, cast

import structlog
from graphql import GraphQLError
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)

from phiacta.auth import ratelimit
from phiacta.auth.viewer import Scope, Viewer
from phiacta.errors import (
    LimitExceeded,
    PhiactaError,
    RateLimited,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
)
from phiacta.events import EventType
from phiacta.events.bus import SubscriberOverflowed
from phiacta.graphql.context import Context
from phiacta.graphql.engine.limits import parse_document
from phiacta.graphql.engine.live_sharing import operation_sender, rendered_payload
from phiacta.graphql.errors import code_errors
from phiacta.graphql.fields.subscriptions import SLOW_SUBSCRIBER_CLOSE_CODE
from phiacta.graphql.safe_text import check_request
from phiacta.store.rows import EventRow

log = structlog.get_logger(__name__)

UNAUTHENTICATED_CLOSE_CODE = 4401
FORBIDDEN_CLOSE_CODE = 4403
RATE_LIMITED_CLOSE_CODE = 4429


def _open_operations(view: object) -> Counter[str]:
    """Operations running per client on every socket of this view (one per process)."""
    counts: Counter[str] | None = getattr(view, "_phiacta_open_operations", None)
    if counts is None:
        counts = Counter()
        view._phiacta_open_operations = counts  # type: ignore[attr-defined]
    return counts


def _forget(counts: Counter[str], client: str) -> None:
    counts[client] -= 1
    if counts[client] <= 0:
        del counts[client]


INTERNAL_CLOSE_CODE = 1011


class _Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def authorization_of(payload: dict[str, Any]) -> str | None:
    value = payload.get("Authorization", payload.get("authorization"))
    return value if isinstance(value, str) else None


class LiveTransportHandler(BaseGraphQLTransportWSHandler[Context, None]):
    _keep_alive_task: asyncio.Task[None] | None = None
    _revocation_task: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload") or {}
        if (
            self.connection_timed_out
            or self.connection_init_received
            or not isinstance(payload, dict)
        ):
            # Strawberry's own refusals: late, repeated or malformed init.
            await super().handle_connection_init(message)
            return
        try:
            self.context.viewer = await self._viewer_for(payload)
        except _Refused as refused:
            self.connection_init_received = True
            if self.connection_init_timeout_task:
                self.connection_init_timeout_task.cancel()
            await self.websocket.close(code=refused.code, reason=refused.reason)
            return
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self._keep_alive_task = asyncio.create_task(self._keep_alive())
            viewer = self.context.viewer
            if viewer is not None:
                self._revocation_task = asyncio.create_task(self._close_when_revoked(viewer))

    async def _close_when_revoked(self, viewer: Viewer) -> None:
        """Close the socket (4403) once its key is revoked, on whichever replica: the
        revocation reaches every process's event bus."""
        bus = self.context.services.bus
        if bus is None:
            return
        key_id = str(viewer.key_id)

        def revokes_this_key(event: EventRow) -> bool:
            return event.type == EventType.API_KEY_REVOKED and event.payload.get("key_id") == key_id

        try:
            subscriber, _ = await bus.subscribe(accepts=revokes_this_key)
        except Unavailable:  # live updates are down: this socket gets no events either
            return
        try:
            with contextlib.suppress(SubscriberOverflowed):
                await subscriber.next()
            await self.websocket.close(code=FORBIDDEN_CLOSE_CODE, reason="the API key was revoked")
        finally:
            bus.unsubscribe(subscriber)

    async def _viewer_for(self, payload: dict[str, Any]) -> Viewer | None:
        services = self.context.services
        try:
            socket = self.context.request
            client = socket.client if isinstance(socket, WebSocket) else None
            viewer = await services.authenticator.authenticate(
                authorization_of(payload), client.host if client else None
            )
        except Unauthenticated as exc:
            raise _Refused(UNAUTHENTICATED_CLOSE_CODE, exc.message) from None
        except RateLimited as exc:
            raise _Refused(RATE_LIMITED_CLOSE_CODE, exc.message) from None
        except PhiactaError as exc:
            raise _Refused(INTERNAL_CLOSE_CODE, exc.message) from None
        if services.settings.public_reads:
            return viewer
        if viewer is None:
            raise _Refused(UNAUTHENTICATED_CLOSE_CODE, "reads need an API key in connection_init")
        if not viewer.has(Scope.CLAIMS_READ):
            raise _Refused(FORBIDDEN_CLOSE_CODE, "the API key lacks the claims:read scope")
        return viewer

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message.get("payload")
        known = message.get("id") in self.operations
        if self.connection_acknowledged and isinstance(payload, dict) and not known:
            refusal = self._refusal(cast(dict[str, Any], payload))
            if refusal is not None:
                await self._send_refusal(message["id"], refusal)
                return
        await super().handle_subscribe(message)
        operation = self.operations.get(message.get("id", ""))
        if not known and operation is not None and operation.task is not None:
            counts = _open_operations(self.view)
            client = self._client()
            counts[client] += 1
            operation.task.add_done_callback(lambda _: _forget(counts, client))

    def _client(self) -> str:
        socket = self.context.request
        address = socket.client if isinstance(socket, WebSocket) else None
        return ratelimit.caller_of(self.context.viewer, address.host if address else None)

    def _refusal(self, payload: dict[str, Any]) -> PhiactaError | None:
        """Why a subscribe message is refused before it runs, if it is: over the caps on
        operations per socket and per client, or text no column can store."""
        settings = self.context.services.settings
        if len(self.operations) >= settings.subscriptions_per_socket:
            return LimitExceeded(
                f"at most {settings.subscriptions_per_socket} operations at once per socket"
            )
        if _open_operations(self.view)[self._client()] >= settings.subscriptions_per_client:
            return LimitExceeded(
                f"at most {settings.subscriptions_per_client} operations at once per client"
            )
        query = payload.get("query")
        document = (
            parse_document(query, settings.graphql_max_tokens) if isinstance(query, str) else None
        )
        try:
            check_request(payload, document)
        except ValidationFailed as exc:
            return exc
        return None

    async def _send_refusal(self, operation_id: str, refusal: PhiactaError) -> None:
        settings = self.context.services.settings
        [error] = code_errors(
            [GraphQLError(refusal.message, original_error=refusal)],
            request_id=self.context.request_id,
            development=settings.is_development,
        )
        await self.send_message({"id": operation_id, "type": "error", "payload": [error.formatted]})

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        # The operation's task (and the resolvers it runs) can send shared results
        # as this operation's without going through Strawberry (live_sharing.Fanout).
        prefix = f'{{"id":{json.dumps(operation.id)},"type":"next","payload":'

        async def send_shared(encoded: str) -> bool:
            socket = self.context.request
            if not isinstance(socket, WebSocket):
                return False
            if not operation.completed:
                # A gone client is noticed by the receive loop, which ends the
                # operation; nothing to report from here.
                with contextlib.suppress(WebSocketDisconnected):
                    await self._send_text(socket, prefix + encoded + "}")
            return True

        operation_sender.set(send_shared)
        await super().run_operation(operation)

    async def _send_text(self, socket: WebSocket, text: str) -> None:
        """Send, waiting while the client's buffers are full (uvicorn applies the
        backpressure); a client that takes nothing for SUBSCRIPTION_SEND_TIMEOUT_SECONDS
        is disconnected (1013) rather than buffered for."""
        try:
            await self._within_send_timeout(socket.send_text(text))
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def _within_send_timeout(self, sending: Awaitable[None]) -> None:
        timeout = self.context.services.settings.subscription_send_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                await sending
        except TimeoutError:
            with contextlib.suppress(Exception):
                await self.websocket.close(
                    code=SLOW_SUBSCRIBER_CLOSE_CODE, reason="the client stopped reading"
                )
            raise WebSocketDisconnected from None

    async def send_message(self, message: Message) -> None:
        socket = self.context.request
        if message["type"] == "next" and isinstance(socket, WebSocket):
            # A shared result's payload is encoded once for every subscriber that gets
            # it; only the operation id differs. Byte for byte what Strawberry sends.
            rendered = rendered_payload(cast(dict[str, Any], message["payload"]))
            if rendered is not None:
                text = f'{{"id":{json.dumps(message["id"])},"type":"next","payload":{rendered}}}'
                await self._send_text(socket, text)
                return
        await self._within_send_timeout(super().send_message(message))

    async def _keep_alive(self) -> None:
        interval = self.context.services.settings.subscription_keep_alive_seconds
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(interval)
                await self.send_message({"type": "ping"})

    async def shutdown(self) -> None:
        for task in (self._keep_alive_task, self._revocation_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await super().shutdown()
