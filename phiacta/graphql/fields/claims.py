"""Looking up and listing claims."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from phiacta.errors import FieldProblem, ValidationFailed
from phiacta.graphql.context import Info
from phiacta.graphql.enums import ClaimStatus, ClaimType
from phiacta.graphql.fields.namespaces import parse_namespace_path
from phiacta.graphql.pagination import (
    Connection,
    build_connection,
    time_key,
    time_page,
)
from phiacta.graphql.types import Claim
from phiacta.store import claims as claim_store
from phiacta.store import namespaces as namespace_store
from phiacta.store.claims import ClaimFilterSpec

SUBTREE_SUFFIX = ".*"


@strawberry.input(description="Which claims to list or search. Every condition must hold.")
class ClaimFilter:
    namespace: str | None = strawberry.field(
        default=None,
        description="A dotted namespace path: `biology` is that namespace only, `biology.*` "
        "that namespace and everything under it.",
    )
    claim_types: list[ClaimType] | None = None
    statuses: list[ClaimStatus] | None = strawberry.field(
        default=None,
        description="Only these statuses. Without it, every status but RETRACTED "
        "(unless includeRetracted).",
    )
    created_by: UUID | None = strawberry.field(default=None, description="An agent id.")
    source: UUID | None = strawberry.field(
        default=None, description="Only claims with provenance from this source id."
    )
    latest_only: bool = strawberry.field(
        default=True, description="Only versions that no newer version of the lineage replaced."
    )
    include_retracted: bool = False
    attrs: JSON | None = strawberry.field(
        default=None, description="A JSON object the claim's attrs must contain (`@>`)."
    )
    created_after: datetime | None = strawberry.field(
        default=None, description="Created at or after this instant."
    )
    created_before: datetime | None = strawberry.field(
        default=None, description="Created strictly before this instant."
    )


@strawberry.enum(description="The order of a claim list; both are stable keyset orders.")
class ClaimOrder(Enum):
    CREATED_AT_ASC = "created_at_asc"
    CREATED_AT_DESC = "created_at_desc"


def check_filter(filter: ClaimFilter, path: str) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if filter.namespace is not None:
        try:
            parse_namespace_path(filter.namespace.removesuffix(SUBTREE_SUFFIX), f"{path}.namespace")
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if filter.attrs is not None and not isinstance(filter.attrs, dict):
        problems.append(FieldProblem(f"{path}.attrs", "must be a JSON object"))
    if (
        filter.created_after is not None
        and filter.created_before is not None
        and filter.created_after >= filter.created_before
    ):
        problems.append(FieldProblem(f"{path}.createdBefore", "must be after createdAfter"))
    return problems


async def _namespace_ids(info: Info, pattern: str) -> list[UUID]:
    path = pattern.removesuffix(SUBTREE_SUFFIX)
    async with info.context.connection() as conn:
        namespaces = await namespace_store.all_namespaces(conn)
    if pattern.endswith(SUBTREE_SUFFIX):
        return [ns.id for ns in namespaces if ns.path == path or ns.path.startswith(path + ".")]
    return [ns.id for ns in namespaces if ns.path == path]


async def filter_spec(
    info: Info, filter: ClaimFilter | None, path: str = "filter"
) -> ClaimFilterSpec:
    """The store's filter for a GraphQL filter; every problem is reported at once."""
    if filter is None:
        return ClaimFilterSpec()
    problems = check_filter(filter, path)
    if problems:
        raise ValidationFailed(problems)
    namespace_ids = None
    if filter.namespace is not None:
        namespace_ids = await _namespace_ids(info, filter.namespace)
    return ClaimFilterSpec(
        namespace_ids=namespace_ids,
        claim_types=[t.value for t in filter.claim_types] if filter.claim_types else None,
        statuses=[s.value for s in filter.statuses] if filter.statuses else None,
        created_by=filter.created_by,
        source_id=filter.source,
        latest_only=filter.latest_only,
        include_retracted=filter.include_retracted,
        attrs=dict(filter.attrs) if isinstance(filter.attrs, dict) else None,
        created_after=filter.created_after,
        created_before=filter.created_before,
    )


@strawberry.type
class ClaimQueries:
    @strawberry.field(
        description="One claim version by id (retracted ones too), or null when there is none."
    )
    async def claim(self, info: Info, id: UUID) -> Claim | None:
        row = await info.context.loaders.claim.load(id)
        return Claim.from_row(row) if row else None

    @strawberry.field(
        description="Claims matching the filter: latest versions only and no retracted ones "
        "unless the filter says otherwise. `first` is 0..200 (default 20)."
    )
    async def claims(
        self,
        info: Info,
        filter: ClaimFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: ClaimOrder = ClaimOrder.CREATED_AT_DESC,
    ) -> Connection[Claim]:
        kind = f"claims:{order_by.value}"
        problems: list[FieldProblem] = []
        try:
            args, keyset = time_page(first, after, kind)
        except ValidationFailed as exc:
            problems.extend(exc.problems)
        if filter is not None:
            problems.extend(check_filter(filter, "filter"))
        if problems:
            raise ValidationFailed(problems)
        spec = await filter_spec(info, filter)
        descending = order_by is ClaimOrder.CREATED_AT_DESC
        async with info.context.connection() as conn:
            rows = await claim_store.list_claims(
                conn, spec, limit=args.first + 1, after=keyset, descending=descending
            )
        info.context.loaders.prime_claims(rows)

        async def count() -> int:
            async with info.context.connection() as conn:
                return await claim_store.count_claims(conn, spec)

        return build_connection(
            rows,
            args,
            kind=kind,
            key=lambda r: time_key(r.created_at, r.id),
            node=Claim.from_row,
            count=count,
        )
