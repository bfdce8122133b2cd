"""The two ways agents reach the MCP server: streamable HTTP at `/mcp`, and stdio.

`/mcp` runs in the API's own process, stateless (each POST is answered on its own, as
JSON), so any replica or worker can answer any request. Its gate is GraphQL's: the
`Authorization: Bearer` key is checked first (a bad, revoked or expired key is 401
UNAUTHENTICATED; no key is anonymous), then each tool's GraphQL document runs
in-process as that key's agent, taking its rate-limit unit as a `/graphql` request
would.

`phiacta mcp` serves stdio for desktop agent apps: with PHIACTA_URL (or `--url`) it calls
that server's `/graphql` with PHIACTA_API_KEY; without one it opens the database in use
itself (the embedded server when DATABASE_URL is unset) and runs as the key's agent.
"""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from phiacta.config import Settings
from phiacta.errors import PhiactaError
from phiacta.graphql.engine.operations import PreparedOperations
from phiacta.mcp.gateway import Gateway, HttpGateway, InProcessGateway
from phiacta.mcp.server import GatewayOf, build_server
from phiacta.middleware import request_id_of
from phiacta.services import Services

MCP_PATH = "/mcp"
_GATEWAY_KEY = "phiacta_mcp_gateway"


async def _gateway_of_request(request: object) -> Gateway:
    assert isinstance(request, Request), "the HTTP transport hands each message its request"
    gateway: Gateway = request.scope["state"][_GATEWAY_KEY]
    return gateway


class McpEndpoint:
    """The ASGI app behind `/mcp`: authenticates, then hands over to the MCP SDK."""

    def __init__(self, operations: PreparedOperations, settings: Settings) -> None:
        self.operations = operations
        self.server = build_server(_gateway_of_request, settings)
        self._app: ASGIApp = self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            # Callers prove who they are with API keys, not cookies, and the app's CORS
            # middleware already decides which origins may call: the SDK's Host check
            # would refuse every deployment behind a real host name.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )

    def lifespan(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Runs the SDK's session manager; the app's lifespan enters it."""
        return self.server.session_manager.run()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from phiacta.graphql.view import error_response

        services: Services = scope["app"].state.services
        request = Request(scope, receive)
        try:
            viewer = await services.authenticator.authenticate(request.headers.get("authorization"))
        except PhiactaError as exc:
            response = error_response(exc, request_id_of(scope), 401)
            response.headers["WWW-Authenticate"] = 'Bearer realm="phiacta"'
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[_GATEWAY_KEY] = InProcessGateway(
            services=services,
            operations=self.operations,
            viewer=viewer,
            request=request,
            request_id=request_id_of(scope),
            client_ip=request.client.host if request.client else None,
        )
        await self._app(scope, receive, send)


def run_stdio(settings: Settings, url: str | None, api_key: str | None) -> int:
    """Serve MCP on stdin/stdout until the client closes it."""
    url = url or settings.phiacta_url
    if api_key is None and settings.phiacta_api_key is not None:
        api_key = settings.phiacta_api_key.get_secret_value()

    async def serve() -> None:
        async with _stdio_gateways(settings, url, api_key) as gateway_of:
            await build_server(gateway_of, settings).run_stdio_async()

    anyio.run(serve)
    return 0


@asynccontextmanager
async def _stdio_gateways(
    settings: Settings, url: str | None, api_key: str | None
) -> AsyncIterator[GatewayOf]:
    if url:
        http = HttpGateway(url, api_key)

        async def remote(_: object) -> Gateway:
            return http

        try:
            yield remote
        finally:
            await http.aclose()
        return
    from phiacta.app import create_app

    # The app's own lifespan makes the services (pool, authenticator, rate limiter,
    # event bus), so a local session runs exactly as the server would. Its logs go to
    # stderr: stdout carries the protocol, and a line on it breaks the client's stream.
    app = create_app(settings, log_stream=sys.stderr)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        endpoint: McpEndpoint = app.state.mcp
        viewer = await services.authenticator.authenticate(f"Bearer {api_key}" if api_key else None)
        stdio_request = Request({"type": "http", "method": "POST", "path": MCP_PATH, "headers": []})

        async def local(_: object) -> Gateway:
            # A request id per call, as each HTTP request has, for the audit lines.
            return InProcessGateway(
                services=services,
                operations=endpoint.operations,
                viewer=viewer,
                request=stdio_request,
                request_id=f"mcp-{uuid.uuid4().hex}",
            )

        yield local
