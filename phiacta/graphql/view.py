"""The `/graphql` endpoint: Strawberry's ASGI view with Phiacta's context.

HTTP requests are authenticated before GraphQL runs: a request that sends a bad,
revoked or expired key is answered 401 with a coded error and never executes, even
for a public read. A request without a key runs as anonymous.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from phiacta.errors import PhiactaError
from phiacta.graphql.context import Context
from phiacta.middleware import request_id_of
from phiacta.services import Services


def error_response(error: PhiactaError, request_id: str, status_code: int) -> JSONResponse:
    """A GraphQL-shaped error body for failures that happen before execution."""
    body = {
        "data": None,
        "errors": [
            {
                "message": error.message,
                "extensions": {
                    "code": str(error.code),
                    "request_id": request_id,
                    **error.extensions(),
                },
            }
        ],
    }
    return JSONResponse(body, status_code=status_code)


class GraphQLView(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            services: Services = scope["app"].state.services
            request = Request(scope, receive)
            try:
                viewer = await services.authenticator.authenticate(
                    request.headers.get("authorization")
                )
            except PhiactaError as exc:
                response = error_response(exc, request_id_of(scope), 401)
                response.headers["WWW-Authenticate"] = 'Bearer realm="phiacta"'
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["viewer"] = viewer
        await super().__call__(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = request.app.state.services
        return Context(
            services=services,
            request=request,
            response=response,
            request_id=request_id_of(request.scope),
            viewer=request.scope.get("state", {}).get("viewer"),
        )
