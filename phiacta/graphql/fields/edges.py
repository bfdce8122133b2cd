"""createEdge and deleteEdge."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.scalars import JSON

from phiacta.auth.manifest import enforce_manifest
from phiacta.auth.viewer import Scope
from phiacta.errors import Conflict, ErrorCode, FieldProblem, Forbidden, NotFound, ValidationFailed
from phiacta.events import EventType
from phiacta.graphql.context import Info
from phiacta.graphql.ids import id_problem, uuid_of
from phiacta.graphql.permissions import CanWriteClaims, require_scope
from phiacta.graphql.types import Edge
from phiacta.ingest.submit import edge_created_event
from phiacta.ingest.validate import unit_interval_problems
from phiacta.observability.audit import audit_write
from phiacta.store import claims as claim_store
from phiacta.store import edge_types as edge_type_store
from phiacta.store import edges as edge_store
from phiacta.store import events as event_store
from phiacta.store import sources as source_store
from phiacta.store.edges import EdgeExists, NewEdge, SelfLoopRefused


@strawberry.input(description="A typed relation from one claim to another.")
class CreateEdgeInput:
    source_id: strawberry.ID
    target_id: strawberry.ID
    edge_type: str
    strength: float = 1.0
    source_provenance: strawberry.ID | None = strawberry.field(
        default=None, description="The source this relation was read from."
    )
    attrs: JSON | None = None


def _ids(input: CreateEdgeInput) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID | None]:
    problems: list[FieldProblem] = []
    parsed: dict[str, uuid.UUID | None] = {}
    for name, value in (
        ("sourceId", input.source_id),
        ("targetId", input.target_id),
        ("sourceProvenance", input.source_provenance),
    ):
        problem = None if value is None else id_problem(value, f"input.{name}")
        if problem is not None:
            problems.append(problem)
        parsed[name] = None if value is None or problem else uuid.UUID(value)
    problems += unit_interval_problems(input.strength, "input.strength")
    if input.attrs is not None and not isinstance(input.attrs, dict):
        problems.append(FieldProblem("input.attrs", "must be a JSON object"))
    if problems:
        raise ValidationFailed(problems)
    source_id, target_id = parsed["sourceId"], parsed["targetId"]
    assert source_id is not None and target_id is not None
    return source_id, target_id, parsed["sourceProvenance"]


@strawberry.type
class EdgeMutations:
    @strawberry.mutation(
        description="Relate two claims. Symmetric types are stored once (either order "
        "names the same edge); anti-reflexive types refuse a claim related to itself.",
        permission_classes=[CanWriteClaims],
    )
    async def create_edge(self, info: Info, input: CreateEdgeInput) -> Edge:
        viewer = require_scope(info.context, Scope.CLAIMS_WRITE)
        source_id, target_id, provenance = _ids(input)
        enforce_manifest(viewer, edge_types=[("input.edgeType", input.edge_type)])
        async with info.context.connection() as conn, conn.transaction():
            types = await edge_type_store.edge_types_by_name(conn, [input.edge_type])
            claims = await claim_store.claims_by_id(
                conn, [source_id, target_id], info.context.visibility
            )
            problems = []
            if input.edge_type not in types:
                problems.append(
                    FieldProblem(
                        "input.edgeType", "is not an edge type", ErrorCode.EDGE_TYPE_UNKNOWN
                    )
                )
            for name, claim_id in (("sourceId", source_id), ("targetId", target_id)):
                if claim_id not in claims:
                    problems.append(
                        FieldProblem(f"input.{name}", "no claim has this id", ErrorCode.NOT_FOUND)
                    )
            if provenance is not None and not await source_store.sources_by_id(conn, [provenance]):
                problems.append(
                    FieldProblem(
                        "input.sourceProvenance", "no source has this id", ErrorCode.NOT_FOUND
                    )
                )
            edge_type = types.get(input.edge_type)
            if edge_type is not None and edge_type.is_anti_reflexive and source_id == target_id:
                problems.append(
                    FieldProblem(
                        "input.targetId",
                        f"{input.edge_type} is anti-reflexive: a claim cannot relate to itself",
                    )
                )
            if problems:
                raise ValidationFailed(problems)
            assert edge_type is not None
            first, second = edge_store.canonical_ends(
                source_id, target_id, symmetric=edge_type.is_symmetric
            )
            try:
                row = await edge_store.insert_edge(
                    conn,
                    NewEdge(
                        id=uuid.uuid4(),
                        source_id=first,
                        target_id=second,
                        edge_type=input.edge_type,
                        strength=input.strength,
                        created_by=viewer.agent_id,
                        source_provenance=provenance,
                        attrs=dict(input.attrs) if isinstance(input.attrs, dict) else {},
                    ),
                )
            except EdgeExists:
                raise Conflict("you already made this edge") from None
            except SelfLoopRefused:
                raise ValidationFailed.single(
                    "input.targetId", "this edge type is anti-reflexive"
                ) from None
            await event_store.append_event(
                conn,
                *edge_created_event(
                    row.id,
                    row.source_id,
                    row.target_id,
                    row.edge_type,
                    row.strength,
                    row.created_by,
                    touches_draft=any(c.status == "draft" for c in claims.values()),
                ),
            )
        audit_write(
            operation="createEdge",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[row.id],
            edge_type=row.edge_type,
        )
        return Edge.from_row(row)

    @strawberry.mutation(
        description="Delete an edge: its creator or an admin.",
        permission_classes=[CanWriteClaims],
    )
    async def delete_edge(self, info: Info, id: strawberry.ID) -> Edge:
        viewer = require_scope(info.context, Scope.CLAIMS_WRITE)
        edge_id = uuid_of(id, "id")
        async with info.context.connection() as conn, conn.transaction():
            row = await edge_store.lock_edge(conn, edge_id)
            if row is None:
                raise NotFound(f"no edge has id {edge_id}")
            if not viewer.may_change(row.created_by):
                raise Forbidden("only the edge's creator or an admin may delete it")
            await edge_store.delete_edge(conn, edge_id)
            await event_store.append_event(
                conn,
                EventType.EDGE_DELETED,
                {
                    "edge_id": str(row.id),
                    "source_id": str(row.source_id),
                    "target_id": str(row.target_id),
                    "edge_type": row.edge_type,
                    "deleted_by": str(viewer.agent_id),
                },
            )
        audit_write(
            operation="deleteEdge",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[edge_id],
        )
        return Edge.from_row(row)
