"""The `/graphql` endpoint: Strawberry's ASGI view with Phiacta's context.

An HTTP request passes these gates, in order, before GraphQL runs; a request stopped
at one is answered with a coded GraphQL-shaped error and never executes:

1. authentication: a bad, revoked or expired key is 401 UNAUTHENTICATED, even for a
   public read (a request without a key runs as anonymous);
2. the body cap (MAX_REQUEST_BYTES): 413 LIMIT_EXCEEDED;
3. the request shape: a body that is not JSON is 400, another content type 415;
4. persisted queries and the allow-list (`graphql.engine.limits.PersistedQueries`);
5. the document-size cap (GRAPHQL_MAX_DOCUMENT_BYTES): 413 LIMIT_EXCEEDED;
6. the rate limit of the caller and the operation's group: 429 RATE_LIMITED with
   Retry-After.

An operation that runs answers 200 with its errors beside its data, except that an
UNAUTHENTICATED error (no key where the operation needs one) makes it 401, as a bad key
is (README, "Errors and HTTP status").

A query's reads go to the database `db.replicas.ReadRouter` picks (a replica that has
replayed the caller's last write, else the primary; a replica failing under it runs
the query again on the primary); a mutation's response carries X-Phiacta-LSN, the
position a later query must be served at.

Every response carries X-RateLimit-Limit, -Remaining and -Reset: each request takes
one unit, a request refused before its operation is known from the claims:read group.
Queries and mutations then run through `graphql.engine.operations`, which checks each document
once (parse, validation with the depth, alias and introspection limits) and per request
only its cost; subscriptions and the odd request Strawberry answers itself, through the
schema's extensions, which enforce the same limits (`graphql.engine.limits`). Subscriptions
use only the graphql-transport-ws protocol, whose connection_init carries the key (the
legacy graphql-ws protocol would skip it).
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import psycopg
import structlog
from cross_web import HTTPException
from graphql import DocumentNode, ExecutionResult, GraphQLError, OperationType
from psycopg_pool import PoolTimeout
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import Schema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from phiacta import jsoncodec
from phiacta.auth import ratelimit
from phiacta.auth.viewer import Viewer
from phiacta.config import Settings
from phiacta.db.replicas import LsnError, ReadTarget, format_lsn, parse_lsn
from phiacta.demo.content import DEMO_ANCHOR
from phiacta.errors import (
    ErrorCode,
    Forbidden,
    LimitExceeded,
    PersistedQueryNotFound,
    PhiactaError,
    RateLimited,
    Unavailable,
    ValidationFailed,
)
from phiacta.graphiql.page import graphiql_response
from phiacta.graphql.context import Context
from phiacta.graphql.engine.limits import (
    CACHEABLE_DOCUMENT_CHARS,
    PersistedQueries,
    operation_groups,
    operation_units,
    parse_document,
)
from phiacta.graphql.engine.live_transport import LiveTransportHandler
from phiacta.graphql.engine.operations import PreparedOperation, PreparedOperations
from phiacta.graphql.engine.planner import PlannedAnswer
from phiacta.graphql.error_details import request_path
from phiacta.graphql.safe_text import check_request, may_hold_unstorable
from phiacta.middleware import request_id_of
from phiacta.observability import metrics
from phiacta.observability.access import OPERATION_KEY
from phiacta.services import Services
from phiacta.store import claims as claim_store
from phiacta.store.claims import ClaimFilterSpec


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


log = structlog.get_logger(__name__)

_CHALLENGE = 'Bearer realm="phiacta"'

# Status codes of the failures Strawberry itself raises while reading a request.
_HTTP_CODES = {404: ErrorCode.NOT_FOUND, 413: ErrorCode.LIMIT_EXCEEDED}


class _HttpFailure(PhiactaError):
    """A failure of the HTTP exchange itself, with the code it maps to."""

    def __init__(self, message: str, code: ErrorCode) -> None:
        super().__init__(message)
        self.code = code
        self.details: dict[str, object] = {}

    def extensions(self) -> dict[str, object]:
        return self.details


class _Refused(Exception):
    """A request stopped at a gate: the error to answer with and its HTTP status."""

    def __init__(
        self, error: PhiactaError, status_code: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.status_code = status_code
        self.headers = headers or {}


@dataclass(frozen=True)
class _GraphQLRequest:
    query: str | None
    operation_name: str | None
    # The body or query string to hand to Strawberry (rewritten when APQ filled it in).
    body: bytes
    query_string: bytes
    variables: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = None
    # False when variables or extensions were sent but are not objects: Strawberry
    # answers such a request, as it always did.
    well_formed: bool = True


# Operations the view runs itself, by method; the others (subscriptions, mutations over
# GET) go through Strawberry, which answers them as it always did.
_RUN_HERE = {
    "POST": (OperationType.QUERY, OperationType.MUTATION),
    "GET": (OperationType.QUERY,),
}
# Read-your-writes across processes: a mutation's response carries the primary's WAL
# position after it; a client that sends it back is served only by a database that has
# replayed that far (db/replicas.py).
LSN_HEADER = "X-Phiacta-LSN"
# Accept types asking Strawberry to stream a result over HTTP.
_STREAMING_ACCEPT = ("multipart/mixed", "text/event-stream")
SUBSCRIPTION_OVER_HTTP = (
    "subscriptions run over a WebSocket on this same path (the graphql-transport-ws "
    "protocol, the key in connection_init's payload), not over HTTP"
)


class GraphQLView(GraphQL[Context, None]):
    # Subscriptions: API-key auth in connection_init and keep-alive pings.
    graphql_transport_ws_handler_class = LiveTransportHandler

    def __init__(
        self,
        schema: Schema,
        settings: Settings,
        persisted: PersistedQueries | None = None,
        **options: Any,
    ) -> None:
        super().__init__(schema, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,), **options)
        self.settings = settings
        self.persisted = persisted or PersistedQueries.from_settings(settings)
        self.operations = PreparedOperations(schema, settings)

    def decode_json(self, data: str | bytes) -> object:
        # WebSocket messages: Strawberry reports only this error class as bad JSON.
        try:
            return jsoncodec.loads(data)
        except ValueError as exc:
            raise json.JSONDecodeError(str(exc), "", 0) from None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        headers: dict[str, str] = {}

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        try:
            response = await self._serve(scope, receive, headers)
        except _Refused as refusal:
            headers.update(refusal.headers)
            response = error_response(refusal.error, request_id_of(scope), refusal.status_code)
        except (psycopg.OperationalError, PoolTimeout):
            # Authentication reads the database: without it, no request can be judged.
            unavailable = Unavailable("the database is unavailable; try again shortly")
            response = error_response(unavailable, request_id_of(scope), 503)
        except Exception as exc:
            response = self._internal_error(exc, request_id_of(scope))
        await response(scope, receive, send_with_limits)

    async def _serve(self, scope: Scope, receive: Receive, headers: dict[str, str]) -> Response:
        services: Services = scope["app"].state.services
        request = Request(scope, receive)
        client_ip = request.client.host if request.client else None
        try:
            viewer = await services.authenticator.authenticate(
                request.headers.get("authorization"), client_ip
            )
        except RateLimited as exc:
            headers["Retry-After"] = str(exc.retry_after)
            raise _Refused(exc, 429) from None
        except PhiactaError as exc:
            await self._take(services, None, client_ip, {ratelimit.CLAIMS_READ}, headers)
            headers["WWW-Authenticate"] = _CHALLENGE
            raise _Refused(exc, 401) from None
        scope.setdefault("state", {})["viewer"] = viewer
        try:
            graphql_request = await self._read(request)
        except _Refused:
            await self._take(services, viewer, client_ip, {ratelimit.CLAIMS_READ}, headers)
            raise
        document = await self._parsed(graphql_request.query)
        groups = operation_groups(document, graphql_request.operation_name)
        units = operation_units(document, graphql_request.operation_name)
        await self._take(services, viewer, client_ip, groups, headers, units)
        token_lsn = _token_lsn(request)
        prepared = await self._prepared(request, graphql_request)
        if prepared is not None:
            return await self._run(request, graphql_request, prepared, token_lsn, headers)
        return await self._execute(scope, receive, graphql_request)

    async def _parsed(self, query: str | None) -> DocumentNode | None:
        if query is None:
            return None
        if len(query) > CACHEABLE_DOCUMENT_CHARS:
            # Parsing a large document takes a while: in a thread, the event loop keeps
            # serving other requests meanwhile (the interpreter switches every few ms).
            return await asyncio.to_thread(parse_document, query, self.settings.graphql_max_tokens)
        return parse_document(query, self.settings.graphql_max_tokens)

    async def _prepared(
        self, request: Request, graphql_request: _GraphQLRequest
    ) -> PreparedOperation | None:
        """The prepared operation when this request can run it; None sends it through
        Strawberry (a subscription, a mutation over GET, an operation that cannot be
        picked, variables or extensions that are not objects), whose answer for those
        is the reference."""
        query = graphql_request.query
        if query is None:
            return None
        if not graphql_request.well_formed:
            return None
        if len(query) > CACHEABLE_DOCUMENT_CHARS:  # not kept: parsed and checked in a thread
            prepared = await asyncio.to_thread(
                self.operations.prepare, query, graphql_request.operation_name
            )
        else:
            prepared = self.operations.prepare(query, graphql_request.operation_name)
        if prepared.operation_type is OperationType.SUBSCRIPTION:
            # Strawberry would execute it as a query and fail on the event stream
            # (INTERNAL): the client picked the wrong transport, so say which is right.
            raise _Refused(ValidationFailed.single("query", SUBSCRIPTION_OVER_HTTP), 400)
        accept = request.headers.get("accept", "")
        if any(kind in accept for kind in _STREAMING_ACCEPT):
            return None
        if prepared.operation_type is None:
            # Unparsable: answered with the syntax error, as Strawberry would.
            return prepared if prepared.errors else None
        if prepared.operation_type in _RUN_HERE.get(request.method, ()):
            return prepared
        return None

    async def _run(
        self,
        request: Request,
        graphql_request: _GraphQLRequest,
        prepared: PreparedOperation,
        token_lsn: int | None,
        headers: dict[str, str],
    ) -> Response:
        reads = request.app.state.services.reads
        viewer: Viewer | None = request.scope["state"]["viewer"]
        caller = str(viewer.key_id) if viewer is not None else None
        target = None
        if prepared.operation_type is OperationType.QUERY:
            target = reads.choose(caller, token_lsn)
        result, replica_failed = await self._run_on(request, graphql_request, prepared, target)
        if replica_failed:
            # A query has no effects: the primary answers it whole instead.
            metrics.read_fallback("replica_failed")
            result, _ = await self._run_on(request, graphql_request, prepared, None)
        if reads.enabled and prepared.operation_type is OperationType.MUTATION:
            try:
                position = await reads.write_position()
            except (psycopg.Error, PoolTimeout) as exc:
                log.warning("write_position_unknown", error=repr(exc))
            else:
                reads.remember_write(caller, position)
                headers[LSN_HEADER] = format_lsn(position)
        if prepared.name:
            request.scope["state"][OPERATION_KEY] = prepared.name
        if isinstance(result, PlannedAnswer):
            # PostgreSQL's JSON text goes out as it came: never decoded, never re-encoded.
            return Response(
                b'{"data":' + result.data.encode() + b"}", media_type="application/json"
            )
        body: dict[str, object] = {"data": result.data}
        status_code = 200
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
            if _unauthenticated(result.errors):
                # A missing key where one is needed answers as a wrong key does.
                status_code = 401
                headers["WWW-Authenticate"] = _CHALLENGE
        # `headers` (rate limit, X-Phiacta-LSN, WWW-Authenticate) are added by `_serve`'s caller.
        return Response(
            jsoncodec.dumps(body), status_code=status_code, media_type="application/json"
        )

    async def _run_on(
        self,
        request: Request,
        graphql_request: _GraphQLRequest,
        prepared: PreparedOperation,
        target: ReadTarget | None,
    ) -> tuple[ExecutionResult | PlannedAnswer, bool]:
        """The operation's result with its reads on `target`, and whether a replica
        failed under it. A query whose connection was found dead before it sent anything
        runs once more on a fresh context (`retry_context`)."""
        contexts = [self._context(request, None)]
        contexts[0].read_target = target

        def retry_context() -> Context:
            contexts.append(self._context(request, None))
            contexts[-1].read_target = target
            return contexts[-1]

        try:
            result = await self.operations.run_prepared(
                prepared,
                contexts[0],
                graphql_request.variables,
                graphql_request.extensions,
                request_id_of(request.scope),
                retry_context,
            )
        finally:
            for context in contexts:
                context.release()
        return result, any(context.replica_failed for context in contexts)

    async def _take(
        self,
        services: Services,
        viewer: Viewer | None,
        client_ip: str | None,
        groups: set[str],
        headers: dict[str, str],
        units: int = 1,
    ) -> None:
        """Count this request (`units`: a mutation's writes) in the strictest of its
        groups; refuse it when over."""
        try:
            decision = await ratelimit.take(
                services.rate_limiter, self.settings, viewer, client_ip, groups, units
            )
        except ratelimit.OverLimit as exc:
            headers.update(exc.decision.headers())
            raise _Refused(exc, 429) from None
        if decision is not None:
            headers.update(decision.headers())

    async def _read(self, request: Request) -> _GraphQLRequest:
        """The operation a request asks for, within the size caps, APQ resolved."""
        try:
            async with asyncio.timeout(self.settings.request_body_timeout_seconds):
                body = await _bounded_body(request, self.settings.max_request_bytes)
        except TimeoutError:
            raise _Refused(
                LimitExceeded(
                    "the request body did not arrive within "
                    f"{self.settings.request_body_timeout_seconds:g} s"
                ),
                408,
            ) from None
        query_string: bytes = request.scope.get("query_string", b"")
        if request.method == "GET":
            params = dict(parse_qsl(query_string.decode("latin-1")))
            payload: dict[str, Any] = {
                **params,
                "variables": _json_param(params, "variables"),
                "extensions": _json_param(params, "extensions"),
            }
        else:
            payload = _json_body(request.headers.get("content-type", ""), body)
        query = payload.get("query")
        operation_name = payload.get("operationName")
        if not isinstance(query, str | None) or not isinstance(operation_name, str | None):
            raise _Refused(
                ValidationFailed.single("query", "query and operationName must be strings"), 400
            )
        try:
            resolved = self.persisted.resolve(query, payload.get("extensions"))
        except PersistedQueryNotFound as exc:
            # Apollo clients expect this one with status 200, then resend the document.
            raise _Refused(exc, 200) from None
        except ValidationFailed as exc:
            raise _Refused(exc, 400) from None
        except Forbidden as exc:
            raise _Refused(exc, 403) from None
        if (
            resolved is not None
            and len(resolved.encode()) > self.settings.graphql_max_document_bytes
        ):
            raise _Refused(
                LimitExceeded(
                    f"the GraphQL document is over {self.settings.graphql_max_document_bytes} "
                    "bytes; send data in variables"
                ),
                413,
            )
        if resolved is not None and query is None:
            if request.method == "GET":
                query_string = urlencode({**params, "query": resolved}).encode()
            else:
                body = json.dumps({**payload, "query": resolved}).encode()
        if request.method == "GET" or may_hold_unstorable(body):
            self._check_text(payload, resolved)
        variables, extensions = payload.get("variables"), payload.get("extensions")
        well_formed = isinstance(variables, dict | None) and isinstance(extensions, dict | None)
        return _GraphQLRequest(
            resolved,
            operation_name,
            body,
            query_string,
            variables if isinstance(variables, dict) else None,
            extensions if isinstance(extensions, dict) else None,
            well_formed,
        )

    def _check_text(self, payload: dict[str, Any], query: str | None) -> None:
        """Refuse text no column can store (`graphql.safe_text`), with its path."""
        document = (
            parse_document(query, self.settings.graphql_max_tokens) if query is not None else None
        )
        try:
            check_request({**payload, "query": query}, document)
        except ValidationFailed as exc:
            raise _Refused(exc, 400) from None

    async def _execute(
        self, scope: Scope, receive: Receive, graphql_request: _GraphQLRequest
    ) -> Response:
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": graphql_request.body, "more_body": False}

        inner_scope = {**scope, "query_string": graphql_request.query_string}
        try:
            return await self.run(Request(inner_scope, replay))
        except HTTPException as exc:
            code = _HTTP_CODES.get(exc.status_code, ErrorCode.VALIDATION_FAILED)
            failure = _HttpFailure(exc.reason, code)
            if code is not ErrorCode.VALIDATION_FAILED:
                raise _Refused(failure, exc.status_code) from None
            place = request_path(exc.reason)
            failure.details = ValidationFailed.single(place, exc.reason).extensions()
            if place == "method":
                # A mutation over GET: Strawberry says 400; GraphQL over HTTP says 405,
                # which tells the client to send the same request as a POST.
                raise _Refused(failure, 405, {"Allow": "GET, POST"}) from None
            raise _Refused(failure, exc.status_code) from None

    def _internal_error(self, exc: Exception, request_id: str) -> Response:
        log.error("graphql_http_internal_error", request_id=request_id, exc_info=exc)
        if not self.settings.is_development:
            return error_response(PhiactaError("internal error"), request_id, 500)
        error = _HttpFailure(f"internal error: {exc!r}", ErrorCode.INTERNAL)
        error.details = {"stacktrace": traceback.format_exception(exc)}
        return error_response(error, request_id, 500)

    async def render_graphql_ide(self, request: Request) -> Response:
        anchor = await _demo_anchor(request.app.state.services)
        return graphiql_response(
            request, development=self.settings.is_development, anchor_id=anchor
        )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return self._context(request, response)

    def _context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        services: Services = request.app.state.services
        return Context(
            services=services,
            request=request,
            response=response,
            request_id=request_id_of(request.scope),
            viewer=request.scope.get("state", {}).get("viewer"),
        )


async def _demo_anchor(services: Services) -> str | None:
    """The id of the demo claim GraphiQL's examples start from, if the demo is loaded."""
    spec = ClaimFilterSpec(attrs={"demo": DEMO_ANCHOR})
    try:
        async with services.pool.connection() as conn:
            rows = await claim_store.list_claims(conn, spec, limit=1, after=None, descending=True)
    except (psycopg.Error, PoolTimeout):
        return None  # the page still works; its examples say to load the demo
    return str(rows[0].id) if rows else None


def _unauthenticated(errors: Sequence[GraphQLError]) -> bool:
    return any(
        (error.extensions or {}).get("code") == ErrorCode.UNAUTHENTICATED for error in errors
    )


def _token_lsn(request: Request) -> int | None:
    raw = request.headers.get(LSN_HEADER)
    if raw is None:
        return None
    try:
        return parse_lsn(raw)
    except LsnError as exc:
        raise _Refused(ValidationFailed.single(LSN_HEADER, str(exc)), 400) from None


async def _bounded_body(request: Request, max_bytes: int) -> bytes:
    too_large = _Refused(
        LimitExceeded(f"the request body is over the limit of {max_bytes} bytes"), 413
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _json_body(content_type: str, body: bytes) -> dict[str, Any]:
    # The media type itself, not a substring: `text/plain;x=application/json` is a
    # "simple" request a browser sends cross-origin without asking CORS first.
    if content_type.partition(";")[0].strip().lower() != "application/json":
        raise _Refused(
            ValidationFailed.single(
                "Content-Type", "send the operation as application/json (or use GET)"
            ),
            415,
        )
    try:
        payload = jsoncodec.loads(body)
    except (ValueError, UnicodeDecodeError):
        _refuse_unstorable_text(body)
        raise _Refused(
            ValidationFailed.single("body", "the request body is not valid JSON"), 400
        ) from None
    if isinstance(payload, list):
        raise _Refused(ValidationFailed.single("body", "batched operations are not accepted"), 400)
    if not isinstance(payload, dict):
        raise _Refused(ValidationFailed.single("body", "must be a JSON object with a query"), 400)
    return payload


def _refuse_unstorable_text(body: bytes) -> None:
    """orjson refuses an unpaired surrogate as bad JSON; the standard library reads it,
    so the refusal can name the field that holds it."""
    if not may_hold_unstorable(body):
        return
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return
    if isinstance(payload, dict):
        try:
            check_request(payload, None)
        except ValidationFailed as exc:
            raise _Refused(exc, 400) from None


def _json_param(params: Mapping[str, str], name: str) -> object:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return jsoncodec.loads(raw)
    except ValueError:
        raise _Refused(ValidationFailed.single(name, "must be JSON"), 400) from None
