"""The graphql-transport-ws handler: API-key auth at `connection_init`, and keep-alive pings.

The key travels in the `connection_init` payload (`{"Authorization": "Bearer <key>"}`;
`authorization` is accepted too), because browsers cannot set headers on a WebSocket.
A bad, revoked or missing-but-required key closes the socket with 4401; a valid key
without `claims:read` when reads are not public closes it with 4403. Each subscription
then checks its own permission classes, like a query.

Strawberry's handler for this protocol has no keep-alive of its own: once the
connection is acknowledged, the server sends a protocol `ping` every
SUBSCRIPTION_KEEP_ALIVE_SECONDS so proxies keep an idle socket open and dead clients
are noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
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

from phiacta.auth.viewer import Scope, Viewer
from phiacta.errors import PhiactaError, RateLimited, Unauthenticated, ValidationFailed
from phiacta.graphql.context import Context
from phiacta.graphql.errors import code_errors
from phiacta.graphql.limits import parse_document
from phiacta.graphql.live_sharing import operation_sender, rendered_payload
from phiacta.graphql.safe_text import check_request

log = structlog.get_logger(__name__)

UNAUTHENTICATED_CLOSE_CODE = 4401
FORBIDDEN_CLOSE_CODE = 4403
RATE_LIMITED_CLOSE_CODE = 4429
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
        if self.connection_acknowledged and isinstance(payload, dict):
            refusal = self._refusal(cast(dict[str, Any], payload))
            if refusal is not None:
                await self._send_refusal(message["id"], refusal)
                return
        await super().handle_subscribe(message)

    def _refusal(self, payload: dict[str, Any]) -> PhiactaError | None:
        """Why a subscribe message is refused before it runs, if it is."""
        query = payload.get("query")
        settings = self.context.services.settings
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

    @staticmethod
    async def _send_text(socket: WebSocket, text: str) -> None:
        try:
            await socket.send_text(text)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

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
        await super().send_message(message)

    async def _keep_alive(self) -> None:
        interval = self.context.services.settings.subscription_keep_alive_seconds
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(interval)
                await self.send_message({"type": "ping"})

    async def shutdown(self) -> None:
        if self._keep_alive_task is not None:
            self._keep_alive_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keep_alive_task
        await super().shutdown()
