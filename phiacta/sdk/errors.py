"""The SDK's errors: one class per `extensions.code` the server sends.

Every error carries the server's `code`, the `request_id` to quote in a bug report and
the `path` of the field that failed (when the server gave one). The client raises the
class of the first error of a response; `errors` keeps all of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field: `claims[3].content: must not be empty`."""

    path: str
    message: str
    code: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class PhiactaError(Exception):
    """Base of every error the SDK raises about a request."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "INTERNAL",
        request_id: str | None = None,
        path: Sequence[str | int] | None = None,
        extensions: Mapping[str, Any] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.path: list[str | int] = list(path or [])
        self.extensions: dict[str, Any] = dict(extensions or {})
        self.status_code = status_code
        # Every error of the response this one was the first of (itself included).
        self.errors: list[PhiactaError] = [self]

    def __str__(self) -> str:
        where = f" at {'.'.join(str(p) for p in self.path)}" if self.path else ""
        request = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.code}{where}: {self.message}{request}"


class AuthenticationError(PhiactaError):
    """UNAUTHENTICATED: the key is missing, unknown, revoked or expired."""


class PermissionDenied(PhiactaError):
    """FORBIDDEN: the key lacks the scope, or the caller may not touch this object."""


class NotFound(PhiactaError):
    """NOT_FOUND: the object the request names does not exist."""


class ValidationFailed(PhiactaError):
    """VALIDATION_FAILED (and the document's own GraphQL errors): `details` lists every
    bad field with its path, message and code."""

    @property
    def details(self) -> list[FieldError]:
        raw = self.extensions.get("details") or []
        return [
            FieldError(
                path=str(item.get("path", "")),
                message=str(item.get("message", "")),
                code=str(item.get("code", "")),
            )
            for item in raw
            if isinstance(item, Mapping)
        ]


class LimitExceeded(PhiactaError):
    """LIMIT_EXCEEDED: too deep, too costly, too large or too slow for the server's caps."""


class RateLimited(PhiactaError):
    """RATE_LIMITED: the key used up its scope group's requests for this window.
    `retry_after` is the number of seconds the server asks to wait."""

    @property
    def retry_after(self) -> float:
        value = self.extensions.get("retryAfter")
        return float(value) if isinstance(value, int | float) else 1.0


class Conflict(PhiactaError):
    """CONFLICT: the change clashes with the current state."""


class IdempotencyConflict(Conflict):
    """IDEMPOTENCY_CONFLICT: the idempotency key was used before with another body."""


class ServerError(PhiactaError):
    """INTERNAL, or a response the SDK could not read: a bug or an outage on the server."""


class Unavailable(ServerError):
    """UNAVAILABLE, HTTP 502/503/504 or no connection, still so after every retry."""


_BY_CODE: dict[str, type[PhiactaError]] = {
    "UNAUTHENTICATED": AuthenticationError,
    "FORBIDDEN": PermissionDenied,
    "NOT_FOUND": NotFound,
    "VALIDATION_FAILED": ValidationFailed,
    "PERSISTED_QUERY_NOT_FOUND": ValidationFailed,
    "LIMIT_EXCEEDED": LimitExceeded,
    "RATE_LIMITED": RateLimited,
    "CONFLICT": Conflict,
    "IDEMPOTENCY_CONFLICT": IdempotencyConflict,
    "UNAVAILABLE": Unavailable,
    "INTERNAL": ServerError,
}


def error_from_graphql(
    error: Mapping[str, Any], *, request_id: str | None = None, status_code: int | None = None
) -> PhiactaError:
    """The typed error for one GraphQL error object of a response."""
    extensions = error.get("extensions")
    extensions = extensions if isinstance(extensions, Mapping) else {}
    code = str(extensions.get("code") or "INTERNAL")
    cls = _BY_CODE.get(code, ServerError if code.startswith("INTERNAL") else PhiactaError)
    path = error.get("path")
    return cls(
        str(error.get("message") or code),
        code=code,
        request_id=str(extensions.get("request_id") or request_id or "") or None,
        path=path if isinstance(path, list) else None,
        extensions=extensions,
        status_code=status_code,
    )


def errors_from_response(
    errors: Sequence[Mapping[str, Any]],
    *,
    request_id: str | None = None,
    status_code: int | None = None,
) -> PhiactaError:
    """The typed error of a response's first error, holding all of them in `errors`."""
    typed = [error_from_graphql(e, request_id=request_id, status_code=status_code) for e in errors]
    first = typed[0]
    first.errors = typed
    return first
