"""`GET /export/{format}`: the export streamed over HTTP, for keys with claims:read.

Query parameters select as `phiacta export` does: `namespace`, `source`,
`createdAfter`, `createdBefore`, `latestOnly=true`. The key is checked first (401
UNAUTHENTICATED without a usable key, 403 FORBIDDEN without claims:read), then the
caller's claims:read rate limit takes one unit; then the body streams from one
snapshot on one pooled connection, held until the last byte is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from phiacta.auth import ratelimit
from phiacta.auth.viewer import Scope
from phiacta.errors import Forbidden, PhiactaError, Unauthenticated
from phiacta.graphql.view import error_response
from phiacta.middleware import request_id_of
from phiacta.services import Services
from phiacta.transfer.export import format_named, selection_from, stream_export

STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "RATE_LIMITED": 429, "VALIDATION_FAILED": 400}


async def export_endpoint(request: Request) -> Response:
    services: Services = request.app.state.services
    headers: dict[str, str] = {}
    try:
        viewer = await services.authenticator.authenticate(request.headers.get("authorization"))
        if viewer is None:
            raise Unauthenticated("exports need an API key with claims:read")
        if not viewer.has(Scope.CLAIMS_READ):
            raise Forbidden("the API key lacks the claims:read scope")
        client_ip = request.client.host if request.client else None
        try:
            decision = await ratelimit.take(
                services.rate_limiter,
                services.settings,
                viewer,
                client_ip,
                {ratelimit.CLAIMS_READ},
            )
        except ratelimit.OverLimit as exc:
            headers.update(exc.decision.headers())
            raise
        if decision is not None:
            headers.update(decision.headers())
        fmt = format_named(request.path_params["format"])
        selection = selection_from(dict(request.query_params))
    except PhiactaError as exc:
        response = error_response(exc, request_id_of(request.scope), STATUS.get(str(exc.code), 400))
        response.headers.update(headers)
        return response

    async def body() -> AsyncIterator[bytes]:
        async with services.pool.connection() as conn:
            async for piece in stream_export(conn, fmt, selection):
                yield piece

    headers["Content-Disposition"] = f'attachment; filename="phiacta.{fmt.extension}"'
    return StreamingResponse(body(), media_type=fmt.media_type, headers=headers)
