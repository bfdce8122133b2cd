"""createSource: a paper, dataset or recording that claims can cite as provenance."""

from __future__ import annotations

import uuid

import strawberry
from strawberry.scalars import JSON

from phiacta.auth.viewer import Scope
from phiacta.errors import FieldProblem, ValidationFailed
from phiacta.graphql.context import Info
from phiacta.graphql.enums import SourceType
from phiacta.graphql.permissions import CanWriteClaims, require_scope
from phiacta.graphql.types import Source
from phiacta.ingest.validate import CONTENT_HASH, MAX_REF_LENGTH, MAX_TEXT_LENGTH
from phiacta.observability.audit import audit_write
from phiacta.store import sources as source_store


@strawberry.input
class CreateSourceInput:
    source_type: SourceType
    title: str | None = None
    external_ref: str | None = strawberry.field(default=None, description="DOI, URL, arXiv id.")
    content_hash: str | None = strawberry.field(default=None, description="SHA-256, hex.")
    attrs: JSON | None = None


def _problems(input: CreateSourceInput) -> list[FieldProblem]:
    problems = []
    if input.title is not None and len(input.title) > MAX_TEXT_LENGTH:
        problems.append(FieldProblem("input.title", f"at most {MAX_TEXT_LENGTH} characters"))
    if input.external_ref is not None and not 0 < len(input.external_ref.strip()) <= MAX_REF_LENGTH:
        problems.append(FieldProblem("input.externalRef", f"must be 1-{MAX_REF_LENGTH} characters"))
    if input.content_hash is not None and not CONTENT_HASH.match(input.content_hash):
        problems.append(FieldProblem("input.contentHash", "must be 64 lower-case hex digits"))
    if input.attrs is not None and not isinstance(input.attrs, dict):
        problems.append(FieldProblem("input.attrs", "must be a JSON object"))
    return problems


@strawberry.type
class SourceMutations:
    @strawberry.mutation(description="Create a source.", permission_classes=[CanWriteClaims])
    async def create_source(self, info: Info, input: CreateSourceInput) -> Source:
        viewer = require_scope(info.context, Scope.CLAIMS_WRITE)
        problems = _problems(input)
        if problems:
            raise ValidationFailed(problems)
        async with info.context.connection() as conn:
            row = await source_store.insert_source(
                conn,
                id=uuid.uuid4(),
                source_type=input.source_type.value,
                title=input.title,
                external_ref=None if input.external_ref is None else input.external_ref.strip(),
                content_hash=input.content_hash,
                submitted_by=viewer.agent_id,
                attrs=dict(input.attrs) if isinstance(input.attrs, dict) else {},
            )
        audit_write(
            operation="createSource",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[row.id],
        )
        return Source.from_row(row)
