"""The one error hierarchy. Every failure a client may see is a `PhiactaError` with a code.

The GraphQL layer maps these to errors whose `extensions` carry `code`, `request_id` and,
for validation, the list of field problems (`details`). Anything that is not a
`PhiactaError` is a bug and is reported as INTERNAL.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    VALIDATION_FAILED = "VALIDATION_FAILED"
    NOT_FOUND = "NOT_FOUND"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    CONFLICT = "CONFLICT"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"
    # Apollo's automatic persisted queries: the hash alone was sent and is unknown.
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    # Codes of single problems inside a bundle or input validation.
    TEMP_ID_UNRESOLVED = "TEMP_ID_UNRESOLVED"
    DUPLICATE_TEMP_ID = "DUPLICATE_TEMP_ID"
    EDGE_TYPE_UNKNOWN = "EDGE_TYPE_UNKNOWN"
    NAMESPACE_NOT_FOUND = "NAMESPACE_NOT_FOUND"
    INVALID_VALUE = "INVALID_VALUE"


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input field: `claims[3].content: must not be empty`."""

    path: str
    message: str
    code: ErrorCode = ErrorCode.INVALID_VALUE

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class PhiactaError(Exception):
    """Base of every error a client may see."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def extensions(self) -> dict[str, object]:
        """Extra members of the GraphQL error's `extensions`, beside code and request_id."""
        return {}


class ValidationFailed(PhiactaError):
    """The input is wrong in one or more places; every place is listed."""

    code = ErrorCode.VALIDATION_FAILED

    def __init__(self, problems: list[FieldProblem], message: str | None = None) -> None:
        if not problems:
            raise ValueError("ValidationFailed needs at least one problem")
        self.problems = problems
        # Input that is well formed but lost a race (revising a version another request
        # just revised) is a conflict: the client should re-read, not fix its input.
        if all(p.code is ErrorCode.CONFLICT for p in problems):
            self.code = ErrorCode.CONFLICT
        summary = "; ".join(str(p) for p in problems[:5])
        if len(problems) > 5:
            summary += f"; and {len(problems) - 5} more"
        super().__init__(message or f"invalid input: {summary}")

    @classmethod
    def single(
        cls, path: str, message: str, code: ErrorCode = ErrorCode.INVALID_VALUE
    ) -> ValidationFailed:
        return cls([FieldProblem(path, message, code)])

    def extensions(self) -> dict[str, object]:
        return {
            "details": [
                {"path": p.path, "message": p.message, "code": str(p.code)} for p in self.problems
            ]
        }


class NotFound(PhiactaError):
    code = ErrorCode.NOT_FOUND


class Unauthenticated(PhiactaError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(PhiactaError):
    code = ErrorCode.FORBIDDEN


class RateLimited(PhiactaError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def extensions(self) -> dict[str, object]:
        return {"retryAfter": self.retry_after}


class Conflict(PhiactaError):
    code = ErrorCode.CONFLICT


class IdempotencyConflict(PhiactaError):
    code = ErrorCode.IDEMPOTENCY_CONFLICT


class LimitExceeded(PhiactaError):
    code = ErrorCode.LIMIT_EXCEEDED


class Unavailable(PhiactaError):
    code = ErrorCode.UNAVAILABLE


class PersistedQueryNotFound(PhiactaError):
    """The client sent only a document hash the server does not know; it resends the
    document with the hash (Apollo clients do this on their own)."""

    code = ErrorCode.PERSISTED_QUERY_NOT_FOUND
