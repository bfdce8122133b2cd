"""The one Relay connection helper: page sizes, opaque cursors and connection types.

A cursor is the keyset position of a row (for example its `created_at` and `id`), tagged
with the kind of list it belongs to, as URL-safe base64 of JSON. Keyset cursors stay
valid when rows are inserted before or after them, unlike offsets. Clients must treat
cursors as opaque; a cursor that does not decode, or belongs to another kind of list, is
VALIDATION_FAILED with the argument's path.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Generic, TypeVar
from uuid import UUID

import strawberry

from phiacta.errors import FieldProblem, ValidationFailed

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")

CursorValue = str | int | float | None


@dataclass(frozen=True)
class PageArgs:
    """A validated page request: how many rows and after which keyset position."""

    first: int
    after: tuple[CursorValue, ...] | None


def page_size(first: int | None, path: str = "first", *, maximum: int = MAX_PAGE_SIZE) -> int:
    """`first` checked against 0..maximum (default when absent)."""
    if first is None:
        return min(DEFAULT_PAGE_SIZE, maximum)
    if first < 0 or first > maximum:
        raise ValidationFailed.single(path, f"must be between 0 and {maximum}")
    return first


def encode_cursor(kind: str, key: Sequence[CursorValue]) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    cursor: str, kind: str, arity: int, path: str = "after"
) -> tuple[CursorValue, ...]:
    """The keyset values of a cursor made by `encode_cursor(kind, ...)`, or VALIDATION_FAILED."""
    problem = ValidationFailed.single(path, "is not a cursor of this list")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, ValueError, UnicodeError):
        raise problem from None
    if (
        not isinstance(decoded, list)
        or len(decoded) != arity + 1
        or decoded[0] != kind
        or not all(isinstance(v, (str, int, float)) or v is None for v in decoded[1:])
    ):
        raise problem
    return tuple(decoded[1:])


def page_args(
    first: int | None,
    after: str | None,
    kind: str,
    arity: int,
    *,
    prefix: str = "",
    maximum: int = MAX_PAGE_SIZE,
) -> PageArgs:
    """Both arguments validated together, so a bad `first` and a bad `after` are both named."""
    problems: list[FieldProblem] = []
    size = DEFAULT_PAGE_SIZE
    key: tuple[CursorValue, ...] | None = None
    try:
        size = page_size(first, prefix + "first", maximum=maximum)
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    if after is not None:
        try:
            key = decode_cursor(after, kind, arity, prefix + "after")
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationFailed(problems)
    return PageArgs(first=size, after=key)


def time_key(created_at: datetime, id: UUID) -> tuple[str, str]:
    """The usual keyset of a list ordered by creation: timestamp and id as text."""
    return (created_at.isoformat(), str(id))


def parse_time_key(key: tuple[CursorValue, ...], path: str = "after") -> tuple[datetime, UUID]:
    try:
        return datetime.fromisoformat(str(key[0])), UUID(str(key[1]))
    except (ValueError, IndexError):
        raise ValidationFailed.single(path, "is not a cursor of this list") from None


@strawberry.type(description="One node of a connection, with the cursor to continue after it.")
class ConnectionEdge(Generic[NodeT]):
    # Encoded only when asked for: most reads of a page never look at its cursors.
    @strawberry.field(description="Pass as `after` to continue after this node.")
    def cursor(self) -> str:
        return encode_cursor(self._kind, self._key())

    node: NodeT
    _kind: strawberry.Private[str]
    # The node's keyset, computed on demand for the same reason.
    _key: strawberry.Private[Callable[[], Sequence[CursorValue]]]


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool = strawberry.field(
        description="Whether the page was asked for with `after` (pages only go forward)."
    )
    _first: strawberry.Private[ConnectionEdge[Any] | None]
    _last: strawberry.Private[ConnectionEdge[Any] | None]

    @strawberry.field
    def start_cursor(self) -> str | None:
        return self._first.cursor() if self._first is not None else None

    @strawberry.field
    def end_cursor(self) -> str | None:
        return self._last.cursor() if self._last is not None else None


CountFn = Callable[[], Awaitable[int]]


@strawberry.type(description="A page of a list, Relay style.")
class Connection(Generic[NodeT]):
    edges: list[ConnectionEdge[NodeT]]
    page_info: PageInfo
    _count: strawberry.Private[CountFn]

    @strawberry.field(description="How many items the whole list has, across all pages.")
    async def total_count(self) -> int:
        return await self._count()

    @property
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]


def build_connection(
    rows: Sequence[RowT],
    args: PageArgs,
    *,
    kind: str,
    key: Callable[[RowT], Sequence[CursorValue]],
    node: Callable[[RowT], NodeT],
    count: CountFn,
) -> Connection[NodeT]:
    """A connection from up to `first + 1` rows fetched in order (the extra one tells
    that a next page exists)."""
    page = rows[: args.first]
    edges = [ConnectionEdge(node=node(row), _kind=kind, _key=partial(key, row)) for row in page]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > args.first,
            has_previous_page=args.after is not None,
            _first=edges[0] if edges else None,
            _last=edges[-1] if edges else None,
        ),
        _count=count,
    )


def time_page(
    first: int | None, after: str | None, kind: str, *, prefix: str = ""
) -> tuple[PageArgs, tuple[datetime, UUID] | None]:
    """Page arguments of a list ordered by (created_at, id), with the decoded keyset."""
    args = page_args(first, after, kind, 2, prefix=prefix)
    keyset = parse_time_key(args.after, prefix + "after") if args.after is not None else None
    return args, keyset
