"""How MCP tools reach Phiacta: by running GraphQL documents, never around them.

A tool is a GraphQL document plus a way to shape its answer. Running the document is
the gateway's job, and there are two:

- `InProcessGateway` executes it against this process's schema with the caller's own
  context (the viewer its API key gave, the request id, the shared services): the same
  permissions, limits, audit lines and events as a request to `/graphql`, and one unit
  of the caller's rate limit per document, from the group GraphQL would charge.
- `HttpGateway` POSTs it to a server's `/graphql` with an API key (`phiacta mcp --url`).

Either way a GraphQL error comes back as `GatewayError`, carrying the error's code,
message and details, which the tools turn into MCP tool errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from starlette.requests import Request

from phiacta import jsoncodec
from phiacta.auth import ratelimit
from phiacta.auth.viewer import Viewer
from phiacta.errors import ErrorCode, PhiactaError
from phiacta.graphql.context import Context
from phiacta.graphql.engine.limits import operation_groups, parse_document
from phiacta.graphql.engine.operations import PreparedOperations
from phiacta.graphql.engine.planner import PlannedAnswer
from phiacta.services import Services

HTTP_TIMEOUT_SECONDS = 60.0


@dataclass
class GatewayError(Exception):
    """A GraphQL operation answered with an error: its code, message and details."""

    code: str
    message: str
    extensions: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    @classmethod
    def from_graphql(cls, errors: list[Mapping[str, Any]]) -> GatewayError:
        first = errors[0]
        extensions = dict(first.get("extensions") or {})
        code = str(extensions.pop("code", ErrorCode.INTERNAL))
        message = "; ".join(str(e.get("message", "")) for e in errors)
        return cls(code, message, extensions)

    @classmethod
    def from_error(cls, error: PhiactaError, request_id: str | None = None) -> GatewayError:
        extensions = dict(error.extensions())
        if request_id:
            extensions["request_id"] = request_id
        return cls(str(error.code), error.message, extensions)


class Gateway(Protocol):
    async def execute(self, document: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The operation's `data`; GatewayError when it answered with errors."""
        ...


@dataclass
class InProcessGateway:
    """Runs documents in this process as the given viewer (None: anonymous)."""

    services: Services
    operations: PreparedOperations
    viewer: Viewer | None
    request: Request
    request_id: str
    client_ip: str | None = None

    async def execute(self, document: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        settings = self.services.settings
        groups = operation_groups(parse_document(document, settings.graphql_max_tokens), None)
        try:
            await ratelimit.take(
                self.services.rate_limiter, settings, self.viewer, self.client_ip, groups
            )
        except ratelimit.OverLimit as exc:
            raise GatewayError.from_error(exc, self.request_id) from None
        prepared = self.operations.prepare(document, None)
        context = Context(
            services=self.services,
            request=self.request,
            response=None,
            request_id=self.request_id,
            viewer=self.viewer,
        )
        try:
            result = await self.operations.run_prepared(
                prepared, context, dict(variables), None, self.request_id
            )
        finally:
            context.release()
        if isinstance(result, PlannedAnswer):  # the read planner's JSON text
            return dict(jsoncodec.loads(result.data))
        if result.errors:
            raise GatewayError.from_graphql([error.formatted for error in result.errors])
        return dict(result.data or {})


class HttpGateway:
    """Runs documents on a Phiacta server over HTTP, with an API key when given."""

    def __init__(self, url: str, api_key: str | None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=url.rstrip("/"), headers=headers, timeout=HTTP_TIMEOUT_SECONDS
        )

    async def execute(self, document: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post(
                "/graphql", json={"query": document, "variables": dict(variables)}
            )
        except httpx.HTTPError as exc:
            raise GatewayError(
                str(ErrorCode.UNAVAILABLE), f"the Phiacta server did not answer: {exc!r}"
            ) from None
        try:
            body = jsoncodec.loads(response.content)
        except ValueError:
            raise GatewayError(
                str(ErrorCode.INTERNAL), f"the server answered {response.status_code}, not JSON"
            ) from None
        if body.get("errors"):
            raise GatewayError.from_graphql(body["errors"])
        return dict(body.get("data") or {})

    async def aclose(self) -> None:
        await self._client.aclose()
