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
from phiacta.identifiers import canonical_identifier
from phiacta.ingest.spec import SourceSpec
from phiacta.ingest.validate import CONTENT_HASH, MAX_REF_LENGTH, MAX_TEXT_LENGTH
from phiacta.observability.audit import audit_write
from phiacta.store import sources as source_store


@strawberry.input
class CreateSourceInput:
    source_type: SourceType
    title: str | None = None
    external_ref: str | None = strawberry.field(
        default=None, description="DOI, URL, arXiv id, PubMed id, in any spelling."
    )
    content_hash: str | None = strawberry.field(default=None, description="SHA-256, hex.")
    attrs: JSON | None = None
    identifiers: list[str] = strawberry.field(
        default_factory=list, description="Further identifiers the source is known by."
    )


def _problems(input: CreateSourceInput) -> list[FieldProblem]:
    problems = []
    if input.title is not None and len(input.title) > MAX_TEXT_LENGTH:
        problems.append(FieldProblem("input.title", f"at most {MAX_TEXT_LENGTH} characters"))
    if input.external_ref is not None and not 0 < len(input.external_ref.strip()) <= MAX_REF_LENGTH:
        problems.append(FieldProblem("input.externalRef", f"must be 1-{MAX_REF_LENGTH} characters"))
    for i, identifier in enumerate(input.identifiers):
        if not 0 < len(identifier.strip()) <= MAX_REF_LENGTH:
            problems.append(
                FieldProblem(f"input.identifiers[{i}]", f"must be 1-{MAX_REF_LENGTH} characters")
            )
    if input.content_hash is not None and not CONTENT_HASH.match(input.content_hash):
        problems.append(FieldProblem("input.contentHash", "must be 64 lower-case hex digits"))
    if input.attrs is not None and not isinstance(input.attrs, dict):
        problems.append(FieldProblem("input.attrs", "must be a JSON object"))
    return problems


@strawberry.type
class SourceMutations:
    @strawberry.mutation(
        description="Create a source; a source already known by any of its identifiers "
        "is returned instead (and learns the identifiers it lacked).",
        permission_classes=[CanWriteClaims],
    )
    async def create_source(self, info: Info, input: CreateSourceInput) -> Source:
        viewer = require_scope(info.context, Scope.CLAIMS_WRITE)
        problems = _problems(input)
        if problems:
            raise ValidationFailed(problems)
        spec = SourceSpec(
            source_type=input.source_type.value,
            external_ref=input.external_ref,
            identifiers=tuple(input.identifiers),
        )
        external_ref = canonical_identifier(input.external_ref) if input.external_ref else None
        async with info.context.connection() as conn, conn.transaction():
            source_id, _ = await source_store.find_or_insert_source(
                conn,
                source_store.NewSource(
                    id=uuid.uuid4(),
                    source_type=spec.source_type,
                    title=input.title,
                    external_ref=external_ref,
                    content_hash=input.content_hash,
                    submitted_by=viewer.agent_id,
                    attrs=dict(input.attrs) if isinstance(input.attrs, dict) else {},
                    identifiers=spec.all_identifiers(),
                ),
            )
            row = (await source_store.sources_by_id(conn, [source_id]))[source_id]
        audit_write(
            operation="createSource",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[row.id],
        )
        return Source.from_row(row)
