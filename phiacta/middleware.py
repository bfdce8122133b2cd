"""ASGI middleware shared by every route."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# A client-supplied id is echoed back and logged, so it must be an id and nothing else:
# a UUID, or 8 to 64 hex digits (a trace id). Letters beyond hex would let a client log
# any text, a key pasted by mistake included.
_SAFE_REQUEST_ID = re.compile(
    r"[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}|[0-9a-fA-F]{8,64}"
)


def request_id_of(scope: Scope) -> str:
    """The id given to this request by `RequestIdMiddleware`."""
    return str(scope.get("state", {}).get("request_id", ""))


class RequestIdMiddleware:
    """Gives every request an id (the client's X-Request-ID when it is sane) and
    returns it in the X-Request-ID response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = given if _SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
