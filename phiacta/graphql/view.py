"""The `/graphql` endpoint: Strawberry's ASGI view with Phiacta's context."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from phiacta.graphql.context import Context
from phiacta.middleware import request_id_of
from phiacta.services import Services


class GraphQLView(GraphQL[Context, None]):
    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services: Services = request.app.state.services
        return Context(
            services=services,
            request=request,
            response=response,
            request_id=request_id_of(request.scope),
        )
