"""The read planner: a query document's selection as one SQL statement.

`plan_reads` walks a validated query once per document and returns a `PlannedReads`:
the plan (`phiacta.store.read_plan`, plain data) and, for each field with arguments,
a binder that turns the request's arguments into the plan's parameters. Per request,
`PlannedReads.bind` coerces the variables and runs the binders; the statement
(`phiacta.store.planner_sql.statement`) is made once per document and set of present
parameters, and prepared on each connection.

Covered: `claim(id)`, `claimsByIds(ids)` and `claims(filter, first, after, orderBy)`
(every condition of `ClaimFilter`, `atRisk`, the confidence ones and nested `or`/`not`
included) with a claim's scalars, `confidence` and `lineageConfidence` (their model
given in the document), `atRisk` (with the paths), `similar`, `createdBy`, `namespace`
(with `parent` and `children`), `supersedes`, `versions`, `provenance` (with `position`
and its source's `identifiers`), `reviews`, `artifacts` and `outgoing`/`incoming` pages
whose edges carry their scalars, `label`, `type`, `createdBy` and `source`/`target`
claims, nested again; `agent`, `source`, `bundle` by id and their pages `agents`,
`sources`, `bundles` (every argument), `edgeTypes`, `namespaces`, `namespaceTree`;
`search` in every mode, its ranking the statement's first step and its hits' claims
planned as any claim (`planner_search`; the query's vector is embedded before the
statement, `embed_queries`); `traverse` without `edgeTypes`, its walk the statement's
first step and its claims and edges planned as any (`planner_traversal`; an unknown or
hidden start makes the data null, and the executor answers NOT_FOUND); and
`__typename` anywhere. Anything else (another root field such as `path`, a directive,
an abstract type, a field asked twice under one name) makes `plan_reads` return None,
and so does a request whose arguments the resolvers would refuse (`NotCovered` from
`bind`): those run through the executor, whose answer (errors, codes, paths) is the
reference.

A plan sees what the caller's resolvers would: every statement applies the drafts rule
of `store.visibility` with the caller's `Visibility`, and runs on the request's read
target (`Context.connection`: a replica, or the primary for read-your-writes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from dataclasses import field as default
from enum import Enum
from typing import Any
from uuid import UUID

import psycopg
import structlog
from graphql import (
    DocumentNode,
    EnumValueNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from psycopg.types.json import Jsonb

from phiacta.config import DEFAULT_MAX_TRAVERSAL_DEPTH
from phiacta.db.replicas import ReplicaUnavailable
from phiacta.errors import ValidationFailed
from phiacta.graphql.engine import planner_search, planner_traversal
from phiacta.graphql.fields.claims import (
    MAX_CLAIMS_BY_IDS,
    MAX_FILTER_BRANCHES,
    MAX_FILTER_DEPTH,
    SUBTREE_SUFFIX,
)
from phiacta.graphql.fields.namespaces import parse_namespace_path
from phiacta.graphql.pagination import page_size, time_page
from phiacta.identifiers import canonical_identifier
from phiacta.ingest.validate import parse_uuid
from phiacta.store import planner_sql
from phiacta.store.claims import MAX_SIMILAR
from phiacta.store.read_plan import (
    Column,
    Constant,
    Cursor,
    Node,
    Page,
    PageEdges,
    PageInfo,
    PageInfoField,
    ReadPlan,
    Related,
    RelatedList,
    RowList,
    Selection,
    TotalCount,
)
from phiacta.store.visibility import Visibility

# Distinct sets of present parameters (filters given or not) kept per document.
MAX_STATEMENTS_PER_PLAN = 64

log = structlog.get_logger(__name__)


class NotCovered(Exception):
    """The planner does not answer this document or request; the executor does."""


# Per GraphQL type: the table its rows come from, its scalar fields by column, its enum
# fields, and its to-one relations and plain lists (relation name, GraphQL type).
@dataclass(frozen=True)
class TypeMap:
    table: str
    columns: Mapping[str, str]
    enums: Mapping[str, str] = default(default_factory=dict)
    related: Mapping[str, str] = default(default_factory=dict)
    lists: Mapping[str, str] = default(default_factory=dict)
    pages: Mapping[str, str] = default(default_factory=dict)
    # Fields whose value the document alone decides (`Confidence.model`).
    constants: Mapping[str, str] = default(default_factory=dict)


TYPES: dict[str, TypeMap] = {
    "Claim": TypeMap(
        "claims",
        {
            "id": "id",
            "lineageId": "lineage_id",
            "version": "version",
            "isLatest": "is_latest",
            "content": "content",
            "formalContent": "formal_content",
            "namespaceId": "namespace_id",
            "createdById": "created_by",
            "supersedesId": "supersedes",
            "attrs": "attrs",
            "createdAt": "created_at",
        },
        enums={"claimType": "claim_type", "status": "status"},
        related={
            "createdBy": "claim.created_by",
            "namespace": "claim.namespace",
            "supersedes": "claim.supersedes",
            "atRisk": "claim.at_risk",
        },
        lists={
            "versions": "claim.versions",
            "provenance": "claim.provenance",
            "artifacts": "claim.artifacts",
        },
        pages={"outgoing": "claim.outgoing", "incoming": "claim.incoming"},
    ),
    "Source": TypeMap(
        "sources",
        {
            "id": "id",
            "title": "title",
            "externalRef": "external_ref",
            "contentHash": "content_hash",
            "submittedById": "submitted_by",
            "attrs": "attrs",
            "createdAt": "created_at",
            "identifiers": "identifiers",
        },
        enums={"sourceType": "source_type"},
        related={"submittedBy": "source.submitted_by"},
    ),
    "Provenance": TypeMap(
        "provenance",
        {
            "id": "id",
            "claimId": "claim_id",
            "sourceId": "source_id",
            "extractedById": "extracted_by",
            "extractionMethod": "extraction_method",
            "locationInSource": "location_in_source",
            "confidence": "confidence",
            "attrs": "attrs",
            "createdAt": "created_at",
        },
        related={
            "claim": "provenance.claim",
            "source": "provenance.source",
            "extractedBy": "provenance.extracted_by",
            "position": "provenance.position",
        },
    ),
    "ReadingPosition": TypeMap(
        "provenance",
        {
            "sectionIndex": "section_index",
            "paragraphIndex": "paragraph_index",
            "sentenceIndex": "sentence_index",
        },
    ),
    "AtRisk": TypeMap(
        "at_risk", {"isAtRisk": "is_at_risk"}, lists={"retractedAncestors": "at_risk.ancestors"}
    ),
    "RetractedAncestor": TypeMap(
        "risk_paths",
        {"depth": "depth"},
        related={"retracted": "risk_path.retracted"},
        lists={"path": "risk_path.path"},
    ),
    "SimilarClaim": TypeMap(
        "similar", {"similarity": "similarity"}, related={"claim": "similar.claim"}
    ),
    "VersionedReview": TypeMap(
        "versioned_reviews",
        {"version": "version"},
        related={"review": "versioned_review.review"},
    ),
    "Review": TypeMap(
        "reviews",
        {
            "id": "id",
            "claimId": "claim_id",
            "reviewerId": "reviewer_id",
            "confidence": "confidence",
            "comment": "comment",
            "attrs": "attrs",
            "createdAt": "created_at",
            "updatedAt": "updated_at",
        },
        enums={"verdict": "verdict"},
        related={"reviewer": "review.reviewer", "claim": "review.claim"},
    ),
    "Artifact": TypeMap(
        "artifacts",
        {
            "id": "id",
            "bundleId": "bundle_id",
            "description": "description",
            "storageRef": "storage_ref",
            "contentInline": "content_inline",
            "structuredData": "structured_data",
            "attrs": "attrs",
            "createdAt": "created_at",
        },
        enums={"artifactType": "artifact_type"},
        lists={"claims": "artifact.claims"},
    ),
    "Bundle": TypeMap(
        "bundles",
        {
            "id": "id",
            "idempotencyKey": "idempotency_key",
            "submittedById": "submitted_by",
            "extensionId": "extension_id",
            "contributorId": "contributor_id",
            "sourceId": "source_id",
            "claimCount": "claim_count",
            "edgeCount": "edge_count",
            "artifactCount": "artifact_count",
            "attrs": "attrs",
            "submittedAt": "submitted_at",
        },
        enums={"status": "status"},
        related={
            "submittedBy": "bundle.submitted_by",
            "contributor": "bundle.contributor",
            "source": "bundle.source",
        },
        lists={"artifacts": "bundle.artifacts"},
    ),
    "Agent": TypeMap(
        "agents",
        {
            "id": "id",
            "name": "name",
            "externalId": "external_id",
            "trustScore": "trust_score",
            "attrs": "attrs",
            "createdAt": "created_at",
            "ownedById": "owned_by",
        },
        enums={"agentType": "agent_type"},
    ),
    "Namespace": TypeMap(
        "namespaces",
        {
            "id": "id",
            "name": "name",
            "path": "path",
            "parentId": "parent_id",
            "description": "description",
            "attrs": "attrs",
            "createdAt": "created_at",
        },
        related={"parent": "namespace.parent"},
        lists={"children": "namespace.children"},
    ),
    "Edge": TypeMap(
        "edges",
        {
            "id": "id",
            "sourceId": "source_id",
            "targetId": "target_id",
            "edgeType": "edge_type",
            "strength": "strength",
            "createdById": "created_by",
            "sourceProvenanceId": "source_provenance",
            "attrs": "attrs",
            "createdAt": "created_at",
        },
        related={
            "source": "edge.source",
            "target": "edge.target",
            "createdBy": "edge.created_by",
            "type": "edge.type",
            "sourceProvenance": "edge.source_provenance",
        },
    ),
    "EdgeType": TypeMap(
        "edge_types",
        {
            "name": "name",
            "description": "description",
            "inverseName": "inverse_name",
            "isTransitive": "is_transitive",
            "isSymmetric": "is_symmetric",
            "isAntiReflexive": "is_anti_reflexive",
            "attrs": "attrs",
            "createdAt": "created_at",
        },
        enums={"category": "category"},
    ),
}


def _confidence(model: str, weighted: bool) -> TypeMap:
    """`Confidence` under one model: the columns of `store.confidence.AGGREGATES` its
    fields read (as `types.Confidence.from_row` picks them); `model` is a constant."""
    return TypeMap(
        "confidence",
        {
            "reviewCount": "review_count",
            "selfReviewCount": "self_review_count",
            "endorsementCount": "endorsement_count",
            "disputeCount": "dispute_count",
            "meanEndorsementConfidence": (
                "weighted_mean_endorsement_confidence"
                if weighted
                else "mean_endorsement_confidence"
            ),
            "endorsementWeight": "endorsement_weight" if weighted else "endorsement_sum",
            "disputeWeight": "dispute_weight" if weighted else "dispute_sum",
        },
        enums={"epistemicStatus": "weighted_epistemic_status" if weighted else "epistemic_status"},
        constants={"model": model},
    )


# By the `model` argument of `Claim.confidence` (its default: TRUST_WEIGHTED).
CONFIDENCE_MODELS = {
    "TRUST_WEIGHTED": _confidence("TRUST_WEIGHTED", weighted=True),
    "SIMPLE": _confidence("SIMPLE", weighted=False),
}

# Root fields reading one row by id, and plain lists of the root.
BY_ID = frozenset({"claim", "agent", "source", "bundle"})
ROOT_LISTS = {
    "edgeTypes": ("root.edge_types", "EdgeType"),
    "namespaces": ("root.namespaces", "Namespace"),
    "namespaceTree": ("root.namespace_tree", "Namespace"),
}

# Where an edge's `label` comes from, by the direction its page was read in.
EDGE_LABEL = {"claim.outgoing": "edge_type", "claim.incoming": "inverse_label"}
PAGE_INFO_FIELDS = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"})

# Root pages, with the role of each argument that is a condition (`planner_sql.PAGES`).
ROOT_PAGES = {
    "agents": {"agentType": "agent_type"},
    "sources": {"sourceType": "source_type", "externalRef": "external_ref"},
    "bundles": {
        "submittedBy": "submitted_by",
        "status": "status",
        "idempotencyKey": "idempotency_key",
    },
}

Params = dict[str, object]
Binder = Callable[[VariableValues], Params]


@dataclass(frozen=True)
class PlannedReads:
    """A query's plan and how a request's variables become its parameters."""

    plan: ReadPlan
    operation: OperationDefinitionNode
    binders: tuple[Binder, ...]
    # Statements by the parameters present: kept here, since hashing a plan (a deep
    # tree) per request would cost more than looking up a small dict.
    statements: dict[frozenset[str], str] = default(default_factory=dict, compare=False)

    def bind(self, schema: GraphQLSchema, variables: Mapping[str, Any] | None) -> Params:
        """The parameters of one request. NotCovered when the variables do not coerce or
        an argument is one a resolver would refuse: the executor reports those."""
        coerced = get_variable_values(
            schema, self.operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(coerced, list):
            raise NotCovered("variables do not coerce")
        params: Params = {}
        for binder in self.binders:
            params |= binder(coerced)
        return params

    @staticmethod
    def values(params: Params, visibility: Visibility) -> Params:
        """What the statement of `params` is executed with: the present parameters (the
        others are not in its text) and the caller's visibility, always."""
        present = {k: v for k, v in params.items() if v is not None and not isinstance(v, bool)}
        return present | visibility.params()

    def statement(self, params: Params) -> str:
        """The statement for these parameters, made once per set of present ones."""
        present = frozenset(k for k, v in params.items() if v is not None and v is not False)
        found = self.statements.get(present)
        if found is None:
            if len(self.statements) >= MAX_STATEMENTS_PER_PLAN:
                self.statements.clear()
            found = self.statements[present] = planner_sql.statement(self.plan, present)
        return found


def plan_reads(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    *,
    risk_depth: int = DEFAULT_MAX_TRAVERSAL_DEPTH,
) -> PlannedReads | None:
    """The plan of a validated query document, or None when it is not covered;
    `risk_depth` is the server's `max_traversal_depth` (what makes a claim at risk)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    planner = _Planner(schema, document, risk_depth)
    try:
        fields = planner.root(operation.selection_set)
    except NotCovered:
        return None
    if all(isinstance(field, Constant) for field in fields):
        return None  # `{ __typename }` and the like: the executor needs no database
    plan = ReadPlan(fields, risk_depth)
    if not planner_sql.fits(plan):
        return None
    return PlannedReads(plan, operation, tuple(planner.binders))


class _Planner:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        max_traversal_depth: int = DEFAULT_MAX_TRAVERSAL_DEPTH,
    ) -> None:
        self.schema = schema
        self.max_traversal_depth = max_traversal_depth
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.binders: list[Binder] = []
        self.count = 0

    def param(self) -> str:
        self.count += 1
        return f"p{self.count}"

    def selections(self, selection_set: SelectionSetNode | None) -> list[FieldNode]:
        """The fields of a selection set in order, fragments spread in place; the same
        response name twice (which GraphQL merges) is left to the executor."""
        if selection_set is None:
            raise NotCovered("a leaf selected as an object")
        found: list[FieldNode] = []
        for selection in selection_set.selections:
            if selection.directives:
                raise NotCovered("directives")
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found += self.selections(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                if fragment.directives:
                    raise NotCovered("directives")
                found += self.selections(fragment.selection_set)
        keys = [(f.alias or f.name).value for f in found]
        if len(set(keys)) != len(keys):
            raise NotCovered("a response name asked twice")
        return found

    def root(self, selection_set: SelectionSetNode) -> tuple[Selection, ...]:
        query = self.schema.query_type
        assert query is not None
        fields: list[Selection] = []
        for node in self.selections(selection_set):
            key = (node.alias or node.name).value
            name = node.name.value
            if name == "__typename":
                fields.append(Constant(key, query.name))
            elif name in BY_ID:
                fields.append(self.by_id(key, node, query.fields[name], name))
            elif name in ROOT_LISTS:
                via, type_name = ROOT_LISTS[name]
                if node.arguments:
                    raise NotCovered(name)
                fields.append(RowList(key, via, self.node(type_name, node)))
            elif name == "claims":
                fields.append(self.claims_page(key, node, query.fields[name]))
            elif name == "search":
                fields.append(planner_search.search_field(self, key, node, query.fields[name]))
            elif name == "traverse":
                definition = query.fields[name]
                fields.append(planner_traversal.traverse_field(self, key, node, definition))
            elif name == "claimsByIds":
                fields.append(self.claims_by_ids(key, node, query.fields[name]))
            elif name in ROOT_PAGES:
                fields.append(self.root_page(key, node, query.fields[name], name))
            else:
                raise NotCovered(name)
        return tuple(fields)

    def confidence(self, key: str, node: FieldNode) -> Related:
        """`Claim.confidence(model:)`, planned when the document decides the model (no
        argument, or an enum literal); a model given by a variable is left to the executor."""
        mapping = _confidence_model(node)
        return Related(key, "claim.confidence", self.node("Confidence", node, mapping=mapping))

    def lineage_confidence(self, key: str, node: FieldNode) -> Related:
        """`Claim.lineageConfidence(model:)`: the lineage's confidence under the model (as
        for `confidence`) and every review of every version."""
        mapping = _confidence_model(node)
        fields: list[Selection] = []
        for field in self.selections(node.selection_set):
            part_key = (field.alias or field.name).value
            name = field.name.value
            if name == "__typename":
                fields.append(Constant(part_key, "LineageConfidence"))
            elif name == "confidence":
                confidence = self.node("Confidence", field, mapping=mapping)
                fields.append(Related(part_key, "lineage.confidence", confidence))
            elif name == "reviews":
                reviews = self.node("VersionedReview", field)
                fields.append(RowList(part_key, "lineage.reviews", reviews))
            else:
                raise NotCovered(f"LineageConfidence.{name}")
        return Related(key, "claim.lineage", Node("lineages", tuple(fields)))

    def by_id(self, key: str, node: FieldNode, definition: GraphQLField, field: str) -> Related:
        name = self.param()

        def bind(variables: VariableValues) -> Params:
            args = get_argument_values(definition, node, variables)
            return {name: _uuid(args["id"])}

        self.binders.append(bind)
        type_name = get_named_type(definition.type).name
        return Related(key, f"root.{field}", self.node(type_name, node), (("id", name),))

    def claims_by_ids(self, key: str, node: FieldNode, definition: GraphQLField) -> RelatedList:
        name = self.param()

        def bind(variables: VariableValues) -> Params:
            ids = get_argument_values(definition, node, variables)["ids"]
            if len(ids) > MAX_CLAIMS_BY_IDS:
                raise NotCovered("too many ids")
            return {name: [_uuid(value) for value in ids]}

        self.binders.append(bind)
        claim = self.node("Claim", node)
        return RelatedList(key, "root.claims_by_ids", claim, (("ids", name),))

    def similar(self, key: str, node: FieldNode, definition: GraphQLField) -> RowList:
        """`Claim.similar(first:)`: its nearest claims, `first` checked as the resolver
        checks it."""
        name = self.param()

        def bind(variables: VariableValues) -> Params:
            first = get_argument_values(definition, node, variables).get("first")
            try:
                return {name: page_size(first, maximum=MAX_SIMILAR)}
            except ValidationFailed:
                raise NotCovered("a page size the resolver refuses") from None

        self.binders.append(bind)
        similar = self.node("SimilarClaim", node)
        return RowList(key, "claim.similar", similar, (("limit", name),))

    def claims_page(self, key: str, node: FieldNode, definition: GraphQLField) -> Page:
        roles = {role: self.param() for role in _CLAIMS_ROLES}
        prefix = self.param()

        def bind(variables: VariableValues) -> Params:
            args = get_argument_values(definition, node, variables)
            order = args["orderBy"]
            filter = args.get("filter")
            values = _claims_scope(filter)
            kind = f"claims:{order.value}"
            values |= _page(args.get("first"), args.get("after"), kind)
            values["descending"] = order.value == "created_at_desc"
            params = {roles[role]: value for role, value in values.items()}
            return params | (_filter_params(filter, prefix) if filter is not None else {})

        self.binders.append(bind)
        # The cursor kind depends on orderBy, a request value: the statement for each
        # order (the `descending` parameter present or not) has its own.
        page = self.page(
            key,
            node,
            "claims",
            "Claim",
            roles,
            kinds=("claims:created_at_asc", "claims:created_at_desc"),
        )
        return replace(page, filter=prefix)

    def root_page(self, key: str, node: FieldNode, definition: GraphQLField, name: str) -> Page:
        """`agents`, `sources` or `bundles`: a page of the root, its arguments bound as
        the resolvers of `fields.lists` read them."""
        conditions = ROOT_PAGES[name]
        roles = {role: self.param() for role in ("first", "after_at", "after_id", "descending")}
        roles |= {role: self.param() for role in conditions.values()}

        def bind(variables: VariableValues) -> Params:
            args = get_argument_values(definition, node, variables)
            values = _page(args.get("first"), args.get("after"), name)
            values["descending"] = name == "bundles"  # newest first
            for argument, role in conditions.items():
                values[role] = _root_condition(role, args.get(argument))
            return {roles[role]: value for role, value in values.items()}

        self.binders.append(bind)
        node_type = get_named_type(definition.type).name.removesuffix("Connection")
        return self.page(key, node, f"root.{name}", node_type, roles, kinds=(name, name))

    def edge_page(self, key: str, node: FieldNode, definition: GraphQLField, via: str) -> Page:
        roles = {role: self.param() for role in ("first", "after_at", "after_id", "edge_types")}

        def bind(variables: VariableValues) -> Params:
            args = get_argument_values(definition, node, variables)
            values = _page(args.get("first"), args.get("after"), "edge")
            types = args.get("edgeTypes")
            values["edge_types"] = sorted(set(types)) if types is not None else None
            return {roles[role]: value for role, value in values.items()}

        self.binders.append(bind)
        return self.page(key, node, via, "Edge", roles)

    def review_page(self, key: str, node: FieldNode, definition: GraphQLField) -> Page:
        roles = {role: self.param() for role in ("first", "after_at", "after_id")}

        def bind(variables: VariableValues) -> Params:
            args = get_argument_values(definition, node, variables)
            values = _page(args.get("first"), args.get("after"), "review")
            return {roles[role]: value for role, value in values.items()}

        self.binders.append(bind)
        return self.page(key, node, "claim.reviews", "Review", roles, kinds=("review", "review"))

    def page(
        self,
        key: str,
        node: FieldNode,
        via: str,
        node_type: str,
        roles: dict[str, str],
        *,
        kinds: tuple[str, str] = ("edge", "edge"),
    ) -> Page:
        connection = f"{node_type}Connection"
        parts: list[PageEdges | PageInfo | TotalCount | Constant] = []
        for field in self.selections(node.selection_set):
            part_key = (field.alias or field.name).value
            name = field.name.value
            if name == "__typename":
                parts.append(Constant(part_key, connection))
            elif name == "totalCount":
                parts.append(TotalCount(part_key))
            elif name == "pageInfo":
                parts.append(PageInfo(part_key, self.page_info(field)))
            elif name == "edges":
                parts.append(PageEdges(part_key, self.page_edges(field, node_type, via)))
            else:
                raise NotCovered(f"{connection}.{name}")
        return Page(key, via, kinds, tuple(parts), tuple(sorted(roles.items())))

    def page_info(self, node: FieldNode) -> tuple[PageInfoField | Constant, ...]:
        parts: list[PageInfoField | Constant] = []
        for field in self.selections(node.selection_set):
            key = (field.alias or field.name).value
            if field.name.value == "__typename":
                parts.append(Constant(key, "PageInfo"))
            elif field.name.value in PAGE_INFO_FIELDS:
                parts.append(PageInfoField(key, field.name.value))
            else:
                raise NotCovered(field.name.value)
        return tuple(parts)

    def page_edges(
        self, node: FieldNode, node_type: str, via: str
    ) -> tuple[Cursor | Related | Constant, ...]:
        parts: list[Cursor | Related | Constant] = []
        for field in self.selections(node.selection_set):
            key = (field.alias or field.name).value
            if field.name.value == "__typename":
                parts.append(Constant(key, f"{node_type}ConnectionEdge"))
            elif field.name.value == "cursor":
                parts.append(Cursor(key))
            elif field.name.value == "node":
                parts.append(Related(key, "page.node", self.node(node_type, field, via)))
            else:
                raise NotCovered(field.name.value)
        return tuple(parts)

    def node(
        self, type_name: str, node: FieldNode, read_as: str = "", mapping: TypeMap | None = None
    ) -> Node:
        """The object of a field of type `type_name` with its selection."""
        mapping = mapping or TYPES[type_name]
        graphql_type = self.schema.type_map[type_name]
        assert isinstance(graphql_type, GraphQLObjectType)
        fields: list[Selection] = []
        for field in self.selections(node.selection_set):
            fields.append(self.field(type_name, mapping, graphql_type, field, read_as))
        return Node(mapping.table, tuple(fields))

    def field(
        self,
        type_name: str,
        mapping: TypeMap,
        graphql_type: GraphQLObjectType,
        field: FieldNode,
        read_as: str,
    ) -> Selection:
        key = (field.alias or field.name).value
        name = field.name.value
        if name == "__typename":
            return Constant(key, type_name)
        if name in mapping.columns:
            time = get_named_type(graphql_type.fields[name].type).name == "DateTime"
            return Column(key, mapping.columns[name], time=time)
        if name in mapping.enums:
            return Column(key, mapping.enums[name], enum=True)
        if name in mapping.constants:
            return Constant(key, mapping.constants[name])
        if type_name == "Edge" and name == "label":
            return Column(key, EDGE_LABEL[read_as])
        definition = graphql_type.fields.get(name)
        if definition is None:
            raise NotCovered(name)
        target = get_named_type(definition.type).name
        if type_name == "Claim" and name == "confidence":
            return self.confidence(key, field)
        if type_name == "Claim" and name == "lineageConfidence":
            return self.lineage_confidence(key, field)
        if type_name == "Claim" and name == "similar":
            return self.similar(key, field, definition)
        if name in mapping.related and target in TYPES:
            return Related(key, mapping.related[name], self.node(target, field))
        if name in mapping.lists and target in TYPES:
            return RowList(key, mapping.lists[name], self.node(target, field))
        if name in mapping.pages:
            via = mapping.pages[name]
            return self.edge_page(key, field, definition, via)
        if type_name == "Claim" and name == "reviews":
            return self.review_page(key, field, definition)
        raise NotCovered(f"{type_name}.{name}")


_CLAIMS_ROLES = ("first", "after_at", "after_id", "descending", "latest_only", "not_retracted")


def _root_condition(role: str, value: Any) -> object:
    """A root page's argument as its resolver reads it: an enum by its stored value, an
    id as a UUID, an external reference in its canonical spelling."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return value.value
    if role == "submitted_by":
        return _uuid(value)
    if role == "external_ref":
        return canonical_identifier(value)
    return value


def _confidence_model(node: FieldNode) -> TypeMap:
    """The `Confidence` of the model a field's `model` argument names: its default
    (TRUST_WEIGHTED) or an enum literal; a model given by a variable is NotCovered."""
    model = "TRUST_WEIGHTED"
    for argument in node.arguments or ():
        if argument.name.value != "model" or not isinstance(argument.value, EnumValueNode):
            raise NotCovered("a confidence model given by a variable")
        model = argument.value.value
    if model not in CONFIDENCE_MODELS:
        raise NotCovered(f"confidence model {model}")
    return CONFIDENCE_MODELS[model]


def _uuid(value: object) -> UUID:
    """An id argument as the resolvers read it (`graphql.ids.uuid_of`); one they would
    refuse is left to them."""
    parsed = parse_uuid(str(value)) if isinstance(value, str) else None
    if parsed is None:
        raise NotCovered("not a UUID")
    return parsed


def _optional_uuid(value: object) -> UUID | None:
    return None if value is None else _uuid(value)


def _page(first: int | None, after: str | None, kind: str) -> Params:
    """A page's size and keyset, as `time_page` checks them for the resolvers."""
    try:
        args, keyset = time_page(first, after, kind)
    except ValidationFailed:
        raise NotCovered("page arguments a resolver refuses") from None
    after_at, after_id = keyset if keyset is not None else (None, None)
    return {"first": args.first, "after_at": after_at, "after_id": after_id}


def _claims_scope(filter: Mapping[str, Any] | None) -> Params:
    """What the top-level filter alone decides (`store.claims.claim_filter_sql`): latest
    versions only, and retracted claims left out unless statuses are named."""
    if filter is None:
        return {"latest_only": True, "not_retracted": True}
    return {
        "latest_only": bool(filter.get("latestOnly", True)),
        "not_retracted": not filter.get("statuses") and not filter.get("includeRetracted"),
    }


def _filter_params(filter: Mapping[str, Any], prefix: str, depth: int = 0) -> Params:
    """A filter's own conditions as parameters named under `prefix`, its nested filters
    under their own prefixes, as `fields.claims.filter_spec` reads it; NotCovered for a
    filter `fields.claims.check_filter` refuses."""
    branches: list[Mapping[str, Any]] | None = filter.get("or")
    negated: Mapping[str, Any] | None = filter.get("not")
    if (branches is not None or negated is not None) and depth >= MAX_FILTER_DEPTH:
        raise NotCovered("filters nested too deep")
    if branches is not None and not 1 <= len(branches) <= MAX_FILTER_BRANCHES:
        raise NotCovered("too many or too few `or` filters")
    minimum = filter.get("minConfidence")
    if minimum is not None and not 0.0 <= minimum <= 1.0:
        raise NotCovered("a confidence out of range")
    values = _own_conditions(filter)
    at_risk = filter.get("atRisk")
    values[planner_sql.AT_RISK] = at_risk is True
    values[planner_sql.NOT_AT_RISK] = at_risk is False
    params = {planner_sql.filter_param(prefix, role): v for role, v in values.items()}
    for index, branch in enumerate(branches or ()):
        name = planner_sql.filter_param(prefix, planner_sql.or_branch(index))
        params[name] = True
        params |= _filter_params(branch, name, depth + 1)
    if negated is not None:
        name = planner_sql.filter_param(prefix, planner_sql.NOT)
        params[name] = True
        params |= _filter_params(negated, name, depth + 1)
    return params


def _own_conditions(filter: Mapping[str, Any]) -> Params:
    """The values of a filter's own conditions, by role (`planner_sql.CLAIM_FILTER`)."""
    namespace = filter.get("namespace")
    subtree = None
    if namespace is not None:
        path = namespace.removesuffix(SUBTREE_SUFFIX)
        try:
            parse_namespace_path(path, "filter.namespace")
        except ValidationFailed:
            raise NotCovered("a namespace the resolver refuses") from None
        if namespace.endswith(SUBTREE_SUFFIX):
            namespace, subtree = None, path
    attrs = filter.get("attrs")
    if attrs is not None and not isinstance(attrs, dict):
        raise NotCovered("attrs that are not an object")
    after, before = filter.get("createdAfter"), filter.get("createdBefore")
    if after is not None and before is not None and after >= before:
        raise NotCovered("an empty time range")
    types, statuses = filter.get("claimTypes"), filter.get("statuses")
    epistemic, minimum = filter.get("epistemicStatuses"), filter.get("minConfidence")
    return {
        "namespace": namespace,
        "namespace_subtree": subtree,
        "claim_types": [t.value for t in types] if types else None,
        "statuses": [s.value for s in statuses] if statuses else None,
        "created_by": _optional_uuid(filter.get("createdBy")),
        "source": _optional_uuid(filter.get("source")),
        "attrs": Jsonb(attrs) if attrs is not None else None,
        "created_after": after,
        "created_before": before,
        "epistemic_statuses": [s.value for s in epistemic] if epistemic else None,
        "min_confidence": float(minimum) if minimum is not None else None,
    }


@dataclass(frozen=True)
class PlannedAnswer:
    """The `data` of a query as PostgreSQL wrote it: JSON text, sent on as it is."""

    data: str


async def answer(
    reads: PlannedReads,
    schema: GraphQLSchema,
    context: Any,
    variables: Mapping[str, Any] | None,
) -> PlannedAnswer | ExecutionResult | None:
    """The query's data from its one statement, run on the request's read target
    (`Context.connection`: a replica or the primary) with the caller's visibility, and
    prepared on the connection at first use.

    None leaves the request to the executor: arguments a resolver would refuse, or a
    statement that failed (the executor then meets the same failure and reports it with
    its code and path, and a lost connection is retried as for any query). A replica
    that failed under the statement is an error result at once: the context is marked
    (`replica_failed`) and the view runs the query again on the primary.
    """
    try:
        params = await planner_search.embed_queries(reads.bind(schema, variables), context)
    except NotCovered:
        return None
    except Exception as exc:  # a shape the planner misjudged: the executor answers it
        log.warning("planned_read_not_bound", error=repr(exc))
        return None
    query = reads.statement(params)
    values = reads.values(params, context.visibility)
    try:
        async with context.connection() as conn:
            cursor = await conn.execute(query, values, prepare=True)
            row = await cursor.fetchone()
    except ReplicaUnavailable as exc:
        return ExecutionResult(data=None, errors=[GraphQLError(str(exc), original_error=exc)])
    except psycopg.Error as exc:
        log.warning("planned_read_failed", error=str(exc))
        return None
    assert row is not None
    if row[0] is None:  # a traversal's start the caller may not see: NOT_FOUND
        return None
    return PlannedAnswer(row[0])
