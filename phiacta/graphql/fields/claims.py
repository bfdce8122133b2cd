"""Looking up and listing claims."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

import strawberry
from graphql import (
    FieldNode,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLString,
    Undefined,
    value_from_ast,
)
from strawberry.scalars import JSON

from phiacta.errors import FieldProblem, ValidationFailed
from phiacta.graphql.context import Info
from phiacta.graphql.enums import ClaimStatus, ClaimType, EpistemicStatus
from phiacta.graphql.fields.namespaces import parse_namespace_path
from phiacta.graphql.ids import id_problem, uuid_of
from phiacta.graphql.loaders import EdgePageKey
from phiacta.graphql.pagination import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Connection,
    build_connection,
    time_key,
    time_page,
)
from phiacta.graphql.types import Claim
from phiacta.ingest.validate import parse_uuid
from phiacta.store import claims as claim_store
from phiacta.store import namespaces as namespace_store
from phiacta.store.claims import MAX_FACET_CLAIMS, ClaimFilterSpec

SUBTREE_SUFFIX = ".*"
# How deep `or` / `not` may nest, and how many filters one `or` may list: each is a
# condition on every candidate row.
MAX_FILTER_DEPTH = 3
MAX_FILTER_BRANCHES = 10


def _outgoing_page_asked(info: Info) -> tuple[tuple[str, ...] | None, int] | None:
    """The (edge types, page size) of a plain first page of `outgoing` under this field,
    or None when it is not asked for, or asked in a form left to the loaders (after a
    cursor, behind a fragment or directive, with a bad argument: its resolver reports it)."""
    # graphql-core's field nodes: Strawberry's `selected_fields` would convert the whole
    # selection tree on every call, and turns literal integers into strings.
    field_nodes = info._raw_info.field_nodes
    selection_set = field_nodes[0].selection_set if len(field_nodes) == 1 else None
    if selection_set is None:
        return None
    for selection in selection_set.selections:
        if (
            not isinstance(selection, FieldNode)
            or selection.name.value != "outgoing"
            or selection.directives
        ):
            continue
        arguments: dict[str, object] = {}
        for argument in selection.arguments or ():
            name = argument.name.value
            if name not in _OUTGOING_ARGUMENTS:
                return None
            value = value_from_ast(argument.value, _OUTGOING_ARGUMENTS[name], info.variable_values)
            if value is Undefined:
                return None
            arguments[name] = value
        first = arguments.get("first")
        types = arguments.get("edgeTypes")
        if arguments.get("after") is not None:
            return None
        if first is not None and (not isinstance(first, int) or not 0 <= first <= MAX_PAGE_SIZE):
            return None
        if types is not None and not isinstance(types, list):
            return None
        edge_types = tuple(sorted({str(t) for t in types})) if types is not None else None
        return edge_types, DEFAULT_PAGE_SIZE if first is None else first
    return None


_OUTGOING_ARGUMENTS: dict[str, GraphQLInputType] = {
    "first": GraphQLInt,
    "after": GraphQLString,
    "edgeTypes": GraphQLList(GraphQLNonNull(GraphQLString)),
}


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
    created_by: strawberry.ID | None = strawberry.field(default=None, description="An agent id.")
    source: strawberry.ID | None = strawberry.field(
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
    at_risk: bool | None = strawberry.field(
        default=None,
        description="true: only claims standing on a retracted claim (see `Claim.atRisk`); "
        "false: only the others.",
    )
    epistemic_statuses: list[EpistemicStatus] | None = strawberry.field(
        default=None,
        description="Only claims whose trust-weighted epistemic status is one of these.",
    )
    min_confidence: float | None = strawberry.field(
        default=None,
        description="Only claims whose trust-weighted mean endorsement confidence is at "
        "least this (0..1); unendorsed claims have none and are left out.",
    )
    or_: list[ClaimFilter] | None = strawberry.field(
        default=None,
        name="or",
        description=f"At least one of these filters holds (1..{MAX_FILTER_BRANCHES}). "
        "Nested filters combine their own conditions only: latestOnly and "
        "includeRetracted apply at the top level.",
    )
    not_: ClaimFilter | None = strawberry.field(
        default=None, name="not", description="This filter does not hold."
    )


@strawberry.enum(description="The order of a claim list; both are stable keyset orders.")
class ClaimOrder(Enum):
    CREATED_AT_ASC = "created_at_asc"
    CREATED_AT_DESC = "created_at_desc"


def check_filter(filter: ClaimFilter, path: str, depth: int = 0) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if filter.min_confidence is not None and not 0.0 <= filter.min_confidence <= 1.0:
        problems.append(FieldProblem(f"{path}.minConfidence", "must be between 0 and 1"))
    nested = [(f"{path}.or[{i}]", f) for i, f in enumerate(filter.or_ or [])]
    if filter.not_ is not None:
        nested.append((f"{path}.not", filter.not_))
    if nested and depth >= MAX_FILTER_DEPTH:
        problems.append(FieldProblem(path, f"`or` and `not` nest at most {MAX_FILTER_DEPTH} deep"))
        return problems
    if filter.or_ is not None and not 1 <= len(filter.or_) <= MAX_FILTER_BRANCHES:
        problems.append(FieldProblem(f"{path}.or", f"must list 1 to {MAX_FILTER_BRANCHES} filters"))
    for nested_path, nested_filter in nested:
        problems.extend(check_filter(nested_filter, nested_path, depth + 1))
    if filter.namespace is not None:
        try:
            parse_namespace_path(filter.namespace.removesuffix(SUBTREE_SUFFIX), f"{path}.namespace")
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if filter.attrs is not None and not isinstance(filter.attrs, dict):
        problems.append(FieldProblem(f"{path}.attrs", "must be a JSON object"))
    for name, value in (("createdBy", filter.created_by), ("source", filter.source)):
        if value is not None and (problem := id_problem(value, f"{path}.{name}")) is not None:
            problems.append(problem)
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
        return ClaimFilterSpec(visibility=info.context.visibility)
    problems = check_filter(filter, path)
    if problems:
        raise ValidationFailed(problems)
    return await _spec_of(info, filter)


async def _spec_of(info: Info, filter: ClaimFilter) -> ClaimFilterSpec:
    namespace_ids = None
    if filter.namespace is not None:
        namespace_ids = await _namespace_ids(info, filter.namespace)
    return ClaimFilterSpec(
        namespace_ids=namespace_ids,
        claim_types=[t.value for t in filter.claim_types] if filter.claim_types else None,
        statuses=[s.value for s in filter.statuses] if filter.statuses else None,
        created_by=None if filter.created_by is None else UUID(filter.created_by),
        source_id=None if filter.source is None else UUID(filter.source),
        latest_only=filter.latest_only,
        include_retracted=filter.include_retracted,
        attrs=dict(filter.attrs) if isinstance(filter.attrs, dict) else None,
        created_after=filter.created_after,
        created_before=filter.created_before,
        visibility=info.context.visibility,
        at_risk=filter.at_risk,
        risk_depth=info.context.settings.max_traversal_depth,
        epistemic_statuses=[s.value for s in filter.epistemic_statuses]
        if filter.epistemic_statuses
        else None,
        min_confidence=filter.min_confidence,
        any_of=tuple([await _spec_of(info, f) for f in filter.or_])
        if filter.or_ is not None
        else None,
        none_of=await _spec_of(info, filter.not_) if filter.not_ is not None else None,
    )


MAX_CLAIMS_BY_IDS = 500
# The claims one claimFacets counts by default (its `limit`); the cost limit caps it.
DEFAULT_FACET_CLAIMS = 5_000


@strawberry.type(description="How many claims share one value of a facet.")
class FacetCount:
    value: str | None = strawberry.field(
        description="The value: a namespace's dotted path (null: no namespace), a claim "
        "type, a status or an epistemic status, lower case as stored."
    )
    count: int


@strawberry.type(description="Counts of the claims a filter matches, by facet.")
class ClaimFacets:
    total: int = strawberry.field(description="The claims counted.")
    truncated: bool = strawberry.field(
        description="Whether more claims matched than `limit`: the counts cover `limit`."
    )
    namespaces: list[FacetCount]
    claim_types: list[FacetCount]
    statuses: list[FacetCount]
    epistemic_statuses: list[FacetCount] = strawberry.field(
        description="By trust-weighted epistemic status."
    )


def _ids(ids: list[strawberry.ID]) -> list[UUID | None]:
    """The ids as UUIDs; VALIDATION_FAILED naming every one that is not."""
    if len(ids) > MAX_CLAIMS_BY_IDS:
        raise ValidationFailed.single("ids", f"at most {MAX_CLAIMS_BY_IDS} ids")
    parsed = [parse_uuid(str(value)) for value in ids]
    problems = [
        FieldProblem(f"ids[{i}]", f"{str(value)!r} is not a UUID")
        for i, (value, found) in enumerate(zip(ids, parsed, strict=True))
        if found is None
    ]
    if problems:
        raise ValidationFailed(problems)
    return parsed


@strawberry.type
class ClaimQueries:
    @strawberry.field(
        description=f"Claims by id (up to {MAX_CLAIMS_BY_IDS}), in the order given: null "
        "for an id that names no claim the caller may see."
    )
    async def claims_by_ids(self, info: Info, ids: list[strawberry.ID]) -> list[Claim | None]:
        wanted = _ids(ids)
        rows = await info.context.loaders.claim.load_many([u for u in wanted if u is not None])
        found = {row.id: row for row in rows if row is not None}
        return [Claim.from_row(found[u]) if u in found else None for u in wanted]

    @strawberry.field(
        description="Counts of the claims matching `filter` (as for `claims`) by namespace, "
        "claim type, status and epistemic status, over at most `limit` of them (default "
        f"{DEFAULT_FACET_CLAIMS}, at most {MAX_FACET_CLAIMS}; it counts toward the query "
        "cost)."
    )
    async def claim_facets(
        self, info: Info, filter: ClaimFilter | None = None, limit: int = DEFAULT_FACET_CLAIMS
    ) -> ClaimFacets:
        if not 1 <= limit <= MAX_FACET_CLAIMS:
            raise ValidationFailed.single("limit", f"must be between 1 and {MAX_FACET_CLAIMS}")
        spec = await filter_spec(info, filter)
        async with info.context.connection() as conn:
            rows = await claim_store.claim_facets(conn, spec, limit=limit)
        by_facet: dict[str, list[FacetCount]] = {}
        for row in rows:
            by_facet.setdefault(row.facet, []).append(FacetCount(value=row.value, count=row.count))
        matched = by_facet.get("matched", [FacetCount(value=None, count=0)])[0].count
        namespaces = await _namespace_counts(info, by_facet.get("namespace", []))
        truncated = matched > limit

        def counts(facet: str) -> list[FacetCount]:
            return sorted(by_facet.get(facet, []), key=lambda f: (-f.count, f.value or ""))

        return ClaimFacets(
            total=min(matched, limit),
            truncated=truncated,
            namespaces=sorted(namespaces, key=lambda f: (-f.count, f.value or "")),
            claim_types=counts("claim_type"),
            statuses=counts("status"),
            epistemic_statuses=counts("epistemic_status"),
        )

    @strawberry.field(
        description="One claim version by id (retracted ones too), or null when there is none."
    )
    async def claim(self, info: Info, id: strawberry.ID) -> Claim | None:
        claim_id = uuid_of(id, "id")
        outgoing = _outgoing_page_asked(info)
        if outgoing is None:
            row = await info.context.loaders.claim.load(claim_id)
            return Claim.from_row(row) if row else None
        # The common shape (the claim, its creator, its first outgoing edges and their
        # targets) in one statement; the nested resolvers then find their rows in the
        # request's loaders instead of issuing three more.
        edge_types, first = outgoing
        found = await info.context.read_claim(claim_id, edge_types, first + 1)
        if found is None:
            return None
        loaders = info.context.loaders
        loaders.claim.prime(found.claim.id, found.claim)
        if found.creator is not None:
            loaders.agent.prime(found.creator.id, found.creator)
        loaders.edge_page.prime(
            EdgePageKey(claim_id, "outgoing", edge_types, first + 1, None),
            [edge for edge, _ in found.outgoing],
        )
        loaders.prime_claims([target for _, target in found.outgoing])
        return Claim.from_row(found.claim)

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


async def _namespace_counts(info: Info, counts: list[FacetCount]) -> list[FacetCount]:
    """The namespace facet with dotted paths instead of ids."""
    ids = [UUID(c.value) for c in counts if c.value is not None]
    rows = await info.context.loaders.namespace.load_many(ids)
    paths = {str(row.id): row.path for row in rows if row is not None}
    return [
        FacetCount(value=None if c.value is None else paths.get(c.value, c.value), count=c.count)
        for c in counts
    ]
