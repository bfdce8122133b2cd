"""One access line and one metrics sample per HTTP request.

`AccessLogMiddleware` sits inside `RequestIdMiddleware`: it binds the request id to
every line logged while the request runs, times the request, and on completion logs
`request` with method, path, GraphQL operation name, status and duration_ms. The
operation name is recorded on the request scope once the document is parsed: by the
HTTP view for the operations it runs itself, by the `OperationName` schema extension
for those Strawberry runs, so the body is never read twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from phiacta.middleware import request_id_of
from phiacta.observability import metrics

access_log = structlog.get_logger("phiacta.access")
_stdlib_access_log = logging.getLogger("phiacta.access")

OPERATION_KEY = "graphql_operation"
# Routes other than /graphql are labelled by their path: it cannot collide with an
# operation name, which never contains '/'.
_ROUTE_LABELS = frozenset({"/health", "/ready", "/metrics"})
_GRAPHQL_PATH = "/graphql"


def _route_label(scope: Scope) -> str:
    path = str(scope.get("path", ""))
    if path == _GRAPHQL_PATH:
        name = scope.get("state", {}).get(OPERATION_KEY)
        return metrics.operation_label(name if isinstance(name, str) else None)
    return path if path in _ROUTE_LABELS else metrics.OTHER


class AccessLogMiddleware:
    """Logs and counts every HTTP request; binds `request_id` for WebSockets too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        with structlog.contextvars.bound_contextvars(request_id=request_id_of(scope)):
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
                return
            await self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            seconds = time.perf_counter() - started
            operation = _route_label(scope)
            metrics.request_finished(operation, status, seconds)
            # Above LOG_LEVEL=info nobody prints the line: skip building it.
            if _stdlib_access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    operation=operation,
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )


class OperationName(SchemaExtension):
    """Records the operation's name on the HTTP request scope for the access line."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        request = getattr(context, "request", None)
        scope = getattr(request, "scope", None)
        if not isinstance(scope, dict) or scope.get("type") != "http":
            return
        # The requested operationName, else the document's first operation's name.
        name = self.execution_context.operation_name
        if name:
            scope.setdefault("state", {})[OPERATION_KEY] = name
