"""Reading and creating namespaces."""

from __future__ import annotations

import re
from typing import Any

import strawberry
from strawberry.scalars import JSON

from phiacta.errors import Conflict, ErrorCode, FieldProblem, ValidationFailed
from phiacta.graphql.context import Info
from phiacta.graphql.permissions import CanWriteClaims
from phiacta.graphql.types import Namespace
from phiacta.observability.audit import audit_write
from phiacta.store import Connection
from phiacta.store import namespaces as namespace_store
from phiacta.store.namespaces import MAX_NAMESPACE_DEPTH, NamespaceExists

SEGMENT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MAX_DESCRIPTION_LENGTH = 2000


@strawberry.input(description="A namespace to create, by its full dotted path.")
class CreateNamespaceInput:
    path: str = strawberry.field(description="Dotted path, e.g. `biology.immunology`.")
    description: str | None = None
    attrs: JSON | None = None
    create_parents: bool = strawberry.field(
        default=False, description="Create missing ancestors instead of failing."
    )


def parse_namespace_path(path: str, field: str) -> list[str]:
    """Split a dotted path into segments, or raise with every bad segment named."""
    segments = path.split(".")
    problems = [
        FieldProblem(
            field,
            f"segment {i + 1} ({segment!r}) must be 1-63 characters of a-z, 0-9, '_' or '-', "
            "starting with a letter or digit",
        )
        for i, segment in enumerate(segments)
        if not SEGMENT.match(segment)
    ]
    if len(segments) > MAX_NAMESPACE_DEPTH:
        problems.append(FieldProblem(field, f"at most {MAX_NAMESPACE_DEPTH} levels"))
    if problems:
        raise ValidationFailed(problems)
    return segments


def _validate(input: CreateNamespaceInput) -> list[str]:
    problems: list[FieldProblem] = []
    segments: list[str] = []
    try:
        segments = parse_namespace_path(input.path, "input.path")
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    if input.description is not None and len(input.description) > MAX_DESCRIPTION_LENGTH:
        problems.append(
            FieldProblem("input.description", f"at most {MAX_DESCRIPTION_LENGTH} characters")
        )
    if input.attrs is not None and not isinstance(input.attrs, dict):
        problems.append(FieldProblem("input.attrs", "must be a JSON object"))
    if problems:
        raise ValidationFailed(problems)
    return segments


def _attrs_of(input: CreateNamespaceInput) -> dict[str, Any]:
    return dict(input.attrs) if isinstance(input.attrs, dict) else {}


async def _create_path(conn: Connection, segments: list[str], input: CreateNamespaceInput) -> None:
    paths = [".".join(segments[: i + 1]) for i in range(len(segments))]
    existing = await namespace_store.namespaces_by_path(conn, paths)
    if input.path in existing:
        raise Conflict(f"namespace {input.path!r} already exists")
    parent_id = None
    for depth, path in enumerate(paths):
        found = existing.get(path)
        if found is not None:
            parent_id = found.id
            continue
        is_leaf = depth == len(paths) - 1
        if not is_leaf and not input.create_parents:
            raise ValidationFailed.single(
                "input.path",
                f"parent namespace {path!r} does not exist (set createParents to create it)",
                ErrorCode.NAMESPACE_NOT_FOUND,
            )
        try:
            parent_id = await namespace_store.insert_namespace(
                conn,
                name=segments[depth],
                parent_id=parent_id,
                description=input.description if is_leaf else None,
                attrs=_attrs_of(input) if is_leaf else {},
            )
        except NamespaceExists:
            raise Conflict(f"namespace {path!r} was created concurrently; retry") from None


@strawberry.type
class NamespaceQueries:
    @strawberry.field(description="Every namespace, ordered by dotted path.")
    async def namespaces(self, info: Info) -> list[Namespace]:
        async with info.context.connection() as conn:
            rows = await namespace_store.all_namespaces(conn)
        return [Namespace.from_row(row) for row in rows]


@strawberry.type
class NamespaceMutations:
    @strawberry.mutation(
        description="Create a namespace (and, if asked, its missing parents).",
        permission_classes=[CanWriteClaims],
    )
    async def create_namespace(self, info: Info, input: CreateNamespaceInput) -> Namespace:
        segments = _validate(input)
        async with info.context.connection() as conn, conn.transaction():
            await _create_path(conn, segments, input)
            rows = await namespace_store.namespaces_by_path(conn, [input.path])
        created = rows[input.path]
        viewer = info.context.viewer
        audit_write(
            operation="createNamespace",
            agent_id=viewer.agent_id if viewer else None,
            request_id=info.context.request_id,
            ids=[created.id],
            path=input.path,
        )
        return Namespace.from_row(created)
