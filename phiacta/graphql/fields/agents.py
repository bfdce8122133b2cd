"""createAgent (admin): people, models, organizations and pipelines that write or review."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from phiacta.auth.viewer import Scope
from phiacta.errors import ErrorCode, FieldProblem, ValidationFailed
from phiacta.graphql.context import Info
from phiacta.graphql.enums import AgentType
from phiacta.graphql.permissions import IsAdmin, require_scope
from phiacta.graphql.types import Agent
from phiacta.ingest.validate import parse_uuid
from phiacta.observability.audit import audit_write
from phiacta.store import agents as agent_store

MAX_NAME_LENGTH = 200


@strawberry.input
class CreateAgentInput:
    agent_type: AgentType
    name: str
    external_id: str | None = strawberry.field(default=None, description="ORCID, model id, ...")
    trust_score: float = 1.0
    attrs: JSON | None = None
    owned_by: strawberry.ID | None = strawberry.field(
        default=None, description="The id of the agent that runs this one."
    )


def _problems(input: CreateAgentInput) -> list[FieldProblem]:
    problems = []
    if not input.name.strip() or len(input.name) > MAX_NAME_LENGTH:
        problems.append(FieldProblem("input.name", f"must be 1-{MAX_NAME_LENGTH} characters"))
    if input.trust_score < 0:
        problems.append(FieldProblem("input.trustScore", "must not be negative"))
    if input.external_id is not None and len(input.external_id) > MAX_NAME_LENGTH:
        problems.append(FieldProblem("input.externalId", f"at most {MAX_NAME_LENGTH} characters"))
    if input.attrs is not None and not isinstance(input.attrs, dict):
        problems.append(FieldProblem("input.attrs", "must be a JSON object"))
    if input.owned_by is not None and parse_uuid(str(input.owned_by)) is None:
        problems.append(FieldProblem("input.ownedBy", f"{input.owned_by!r} is not a UUID"))
    if input.agent_type is AgentType.EXTENSION:
        problems.append(
            FieldProblem("input.agentType", "extensions are created by registerExtension")
        )
    return problems


@strawberry.type
class AgentMutations:
    @strawberry.mutation(description="Create an agent (admin).", permission_classes=[IsAdmin])
    async def create_agent(self, info: Info, input: CreateAgentInput) -> Agent:
        viewer = require_scope(info.context, Scope.ADMIN)
        problems = _problems(input)
        if problems:
            raise ValidationFailed(problems)
        owner = parse_uuid(str(input.owned_by)) if input.owned_by is not None else None
        async with info.context.connection() as conn:
            if owner is not None and not await agent_store.agents_by_id(conn, [owner]):
                raise ValidationFailed.single(
                    "input.ownedBy", "no agent has this id", ErrorCode.NOT_FOUND
                )
            row = await agent_store.insert_agent(
                conn,
                agent_type=input.agent_type.value,
                name=input.name.strip(),
                external_id=input.external_id,
                trust_score=input.trust_score,
                attrs=dict(input.attrs) if isinstance(input.attrs, dict) else {},
                owned_by=owner,
            )
        audit_write(
            operation="createAgent",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[row.id],
        )
        return Agent.from_row(row)
