"""createEdgeType (admin): a new kind of relation between claims."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import strawberry
from strawberry.scalars import JSON

from phiacta.auth.viewer import Scope
from phiacta.errors import Conflict, FieldProblem, ValidationFailed
from phiacta.graphql.context import Info
from phiacta.graphql.enums import EdgeCategory
from phiacta.graphql.permissions import IsAdmin, require_scope
from phiacta.graphql.types import EdgeType
from phiacta.observability.audit import audit_write
from phiacta.store import edge_types as edge_type_store
from phiacta.store.edge_types import EdgeTypeExists, EdgeTypeRow

# The edge_types table's own CHECK, so a bad name is a coded problem, not a 500.
EDGE_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_DESCRIPTION_LENGTH = 2_000


@strawberry.input
class CreateEdgeTypeInput:
    name: str = strawberry.field(description="snake_case, e.g. `replicates`.")
    category: EdgeCategory
    description: str | None = None
    inverse_name: str | None = None
    is_transitive: bool = False
    is_symmetric: bool = False
    is_anti_reflexive: bool = True
    attrs: JSON | None = None


def _problems(input: CreateEdgeTypeInput) -> list[FieldProblem]:
    problems = []
    for field, value in (("name", input.name), ("inverseName", input.inverse_name)):
        if value is not None and not EDGE_TYPE_NAME.match(value):
            problems.append(
                FieldProblem(f"input.{field}", "must be 1-63 characters of a-z, 0-9 and '_'")
            )
    if input.description is not None and len(input.description) > MAX_DESCRIPTION_LENGTH:
        problems.append(
            FieldProblem("input.description", f"at most {MAX_DESCRIPTION_LENGTH} characters")
        )
    if input.attrs is not None and not isinstance(input.attrs, dict):
        problems.append(FieldProblem("input.attrs", "must be a JSON object"))
    return problems


@strawberry.type
class EdgeTypeMutations:
    @strawberry.mutation(description="Create an edge type (admin).", permission_classes=[IsAdmin])
    async def create_edge_type(self, info: Info, input: CreateEdgeTypeInput) -> EdgeType:
        viewer = require_scope(info.context, Scope.ADMIN)
        problems = _problems(input)
        if problems:
            raise ValidationFailed(problems)
        wanted = EdgeTypeRow(
            name=input.name,
            description=input.description,
            inverse_name=input.inverse_name,
            is_transitive=input.is_transitive,
            is_symmetric=input.is_symmetric,
            is_anti_reflexive=input.is_anti_reflexive,
            category=input.category.value,
            attrs=dict(input.attrs) if isinstance(input.attrs, dict) else {},
            created_at=datetime.now(UTC),
        )
        async with info.context.connection() as conn:
            try:
                row = await edge_type_store.insert_edge_type(conn, wanted)
            except EdgeTypeExists:
                raise Conflict(f"edge type {input.name!r} already exists") from None
        audit_write(
            operation="createEdgeType",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[row.name],
        )
        return EdgeType.from_row(row)
