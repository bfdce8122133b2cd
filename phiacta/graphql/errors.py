"""The one place that maps failures to GraphQL errors with a code.

Every error in a response carries `extensions.code` and `extensions.request_id`.
Domain errors (`PhiactaError`) keep their message and add their details; GraphQL
syntax, validation and variable errors become VALIDATION_FAILED with details naming the
place (`graphql.error_details`); a lost database becomes
UNAVAILABLE; anything else is a bug, logged with its traceback and reported as INTERNAL
(with the message and trace only in development).
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from typing import Any

import psycopg
import structlog
from graphql import GraphQLError
from psycopg_pool import PoolTimeout
from strawberry.extensions import SchemaExtension

from phiacta.errors import ErrorCode, PhiactaError
from phiacta.graphql.error_details import details_of
from phiacta.observability import metrics

log = structlog.get_logger(__name__)

# graphql-core's parser refusing a document for its size, not its syntax: the token cap
# (GRAPHQL_MAX_TOKENS) and its nesting limit. Limits are LIMIT_EXCEEDED.
_PARSER_LIMITS = re.compile(
    r"Syntax Error: Document (contains more than \d+ tokens|is nested too deeply)\."
)


def classify(error: GraphQLError) -> tuple[ErrorCode, str, dict[str, object]]:
    """The code, client-facing message and extra extensions for one error."""
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if isinstance(original, PhiactaError):
        return original.code, original.message, original.extensions()
    if original is None or isinstance(original, GraphQLError) or _is_coercion(error, original):
        if _PARSER_LIMITS.match(error.message):
            return ErrorCode.LIMIT_EXCEEDED, error.message, {}
        return ErrorCode.VALIDATION_FAILED, error.message, {"details": details_of(error)}
    if isinstance(original, psycopg.errors.QueryCanceled):
        return ErrorCode.LIMIT_EXCEEDED, "the query took longer than the statement timeout", {}
    if isinstance(original, (psycopg.OperationalError, PoolTimeout)):
        return ErrorCode.UNAVAILABLE, "the database is unavailable; try again shortly", {}
    return ErrorCode.INTERNAL, "internal error", {}


def _is_coercion(error: GraphQLError, original: BaseException) -> bool:
    """A scalar's parser refused a value: graphql-core reports it without a response path
    (a resolver's failure always has one), keeping the parser's exception as its cause."""
    return error.path is None and isinstance(original, ValueError | TypeError)


def coded_error(error: GraphQLError, *, request_id: str, development: bool) -> GraphQLError:
    code, message, extra = classify(error)
    extensions: dict[str, object] = {"code": str(code), "request_id": request_id, **extra}
    if code is ErrorCode.INTERNAL:
        original = error.original_error
        log.error(
            "graphql_internal_error",
            request_id=request_id,
            path=error.path,
            exc_info=original if isinstance(original, BaseException) else None,
        )
        if development and isinstance(original, BaseException):
            message = f"internal error: {original!r}"
            extensions["stacktrace"] = traceback.format_exception(original)
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


class CodedErrors(SchemaExtension):
    """Rewrites every error of an operation's result into its coded form."""

    # Over a WebSocket each result is coded as it is streamed (subscriptions yield many);
    # the operation's last result is then already coded.
    _streamed = False

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._streamed = True
        self._code(result)
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        if not self._streamed:
            self._code(self.execution_context.result)

    def _code(self, result: Any) -> None:
        errors = getattr(result, "errors", None)
        if not errors:
            return
        context = self.execution_context.context
        settings = getattr(context, "settings", None)
        result.errors = code_errors(
            errors,
            request_id=str(getattr(context, "request_id", "")),
            development=bool(getattr(settings, "is_development", False)),
        )


def code_errors(
    errors: list[GraphQLError], *, request_id: str, development: bool
) -> list[GraphQLError]:
    """Each error in its coded form, counted in the errors metric."""
    coded = [coded_error(e, request_id=request_id, development=development) for e in errors]
    for error in coded:
        metrics.graphql_error(str((error.extensions or {}).get("code", ErrorCode.INTERNAL)))
    return coded
