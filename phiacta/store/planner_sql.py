"""The SQL of read plans: one statement per plan that returns the whole `data` JSON.

`statement(plan, present)` composes, with `psycopg.sql` only, a statement whose one
row and column is the query's `data` object as JSON text: PostgreSQL builds every
object (`json_build_object`), list (`json_agg`) and page, and the server sends the text
on untouched. Each nested field is a correlated subquery on the row of its parent, so a
page of 50 claims with their creators and edges is still one statement and one round
trip. For `claims(first: 2) { edges { cursor node { id createdBy { name } } } }`:

    SELECT json_build_object('claims', (
      SELECT json_build_object(
        'edges', coalesce(json_agg(json_build_object(
            'cursor', <cursor of "t0">,
            'node', json_build_object('id', "t0"."id", 'createdBy', (
                SELECT json_build_object('name', "t1"."name")
                FROM agents "t1" WHERE "t1"."id" = "t0"."created_by")))
          ORDER BY "t0".n__) FILTER (WHERE "t0".n__ <= %(p0)s::int), '[]'::json))
      FROM (
        SELECT <claim columns>, row_number() OVER (ORDER BY x.created_at DESC, x.id DESC) AS n__
        FROM claims x
        WHERE "x".status <> 'retracted' AND NOT EXISTS (<a newer version>)
        ORDER BY x.created_at DESC, x.id DESC
        LIMIT %(p0)s::int + 1) "t0"))::text

A page reads `first + 1` rows: the extra one answers hasNextPage. Cursors are made in
SQL exactly as `graphql.pagination.encode_cursor` makes them (URL-safe base64 of
`["kind","<created_at ISO>","<id>"]`, unpadded), so either path continues the other's
pages. Every value is a parameter; a parameter the request leaves None or False
(`present` lacks it) removes its condition from the text instead of being tested in
SQL, so each statement stays one the planner can use its indexes for.

A claim filter's conditions (`CLAIM_FILTER`, then `or` and `not`, as
`store.claims._conditions` composes them) are parameters named under the page's filter
prefix, a nested filter's under its own (`p7_or1_not_claim_types`), with markers for an
`or` branch, a `not` and `atRisk` that are present, never sent: the set of present
parameters is the filter's shape. `{or: [{atRisk: true}, {minConfidence: 0.8}]}` adds

    AND ((x.id IN (<store.risk.at_risk_condition>))
         OR ((SELECT agg.weighted_mean_endorsement_confidence FROM (<confidence of x>) agg)
             >= %(p7_or1_min_confidence)s::float8))

Drafts: every claim a plan reads (by id, in a list, a page, at either end of an edge)
passes `visibility.claim_visible_sql`, and an edge page leaves out the edges whose other
end is a draft the caller may not see (`visibility.hidden_draft`), as the loaders do.
Every statement therefore takes the two parameters of `Visibility.params()`
(`viewer_id`, `viewer_admin`), always bound, whatever else is present.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from psycopg import sql

from phiacta.store.artifacts import MAX_ARTIFACTS_PER_OWNER, MAX_CLAIMS_PER_ARTIFACT
from phiacta.store.claims import similar_to_claim
from phiacta.store.confidence import (
    MAX_LINEAGE_REVIEWS,
    claim_confidence_value,
    confidence_of_claim,
    confidence_of_lineage,
)
from phiacta.store.namespaces import NAMESPACE_TREE
from phiacta.store.planner_search_sql import search_json
from phiacta.store.planner_traversal_sql import start_guard, traverse_json
from phiacta.store.provenance import MAX_PROVENANCE_PER_CLAIM
from phiacta.store.read_plan import (
    Column,
    Constant,
    Cursor,
    Page,
    PageEdges,
    PageInfo,
    PageInfoField,
    ReadPlan,
    Related,
    RelatedList,
    RowList,
    Search,
    SearchHits,
    SearchRankings,
    Selection,
    TotalCount,
    TraversalEdges,
    TraversalNodes,
    Traverse,
)
from phiacta.store.risk import at_risk_condition, retracted_premises_of
from phiacta.store.sources import identifiers_of
from phiacta.store.visibility import claim_visible, claim_visible_sql, hidden_draft

# PostgreSQL functions take at most 100 arguments: a json_build_object of 50 keys.
MAX_OBJECT_KEYS = 50
MAX_VERSIONS = 1000

# A timestamp as Python's `datetime.isoformat` writes it (the executor's DateTime and
# cursor form): microseconds as six digits unless zero, then the offset as +HH:MM.
# PostgreSQL's own JSON form drops trailing zeros of the fraction.
ISO_TIME = sql.SQL(
    "(to_char({time}, 'YYYY-MM-DD\"T\"HH24:MI:SS') "
    "|| CASE WHEN to_char({time}, 'US') = '000000' THEN '' ELSE to_char({time}, '.US') END "
    "|| to_char({time}, 'TZH:TZM'))"
)

# What each table of a plan is read from.
TABLES: dict[str, sql.Composable] = {
    "claims": sql.SQL("claims"),
    "agents": sql.SQL("agents"),
    # The namespace tree with dotted paths (store.namespaces), walked once per statement
    # that reads it: the tree is small and bounded in depth.
    "namespaces": sql.SQL("tree"),
    "edges": sql.SQL("edges"),
    "edge_types": sql.SQL("edge_types"),
    "sources": sql.SQL("sources"),
    "provenance": sql.SQL("provenance"),
    "reviews": sql.SQL("reviews"),
    "artifacts": sql.SQL("artifacts"),
    "bundles": sql.SQL("bundles"),
    # Every review of every version, with the version and lineage it was of (the rows
    # of store.confidence.LINEAGE_REVIEWS, ordered as it orders them).
    "versioned_reviews": sql.SQL(
        "(SELECT c.lineage_id, c.version, r.id, r.created_at "
        "FROM claims c JOIN reviews r ON r.claim_id = c.id)"
    ),
}

# Rows computed from the parent row (its alias) rather than read from a table, given
# the plan's risk depth.
DERIVED: dict[str, Callable[[str, int], str]] = {
    # A claim's confidence from its reviews, one row whatever their number.
    "confidence": lambda claim, _: confidence_of_claim(claim),
    # A claim's lineage, whose confidence and reviews `Claim.lineageConfidence` reads.
    "lineages": lambda claim, _: f"SELECT {claim}.lineage_id AS lineage_id",
    "lineage_confidence": lambda lineage, _: confidence_of_lineage(lineage),
    # `Claim.atRisk`: whether any retracted premise is in reach (a column PostgreSQL
    # drops, walk and all, when the document does not ask for it), and the premises.
    "at_risk": lambda claim, depth: (
        f"SELECT {claim}.id AS id, EXISTS ({retracted_premises_of(claim, depth)}) AS is_at_risk"
    ),
    "risk_paths": lambda claim, depth: retracted_premises_of(claim, depth),
    # A page's claim rows leave their embedding behind: it is read by the claim's id, a
    # value per claim the ANN index orders by.
    "similar": lambda claim, _: similar_to_claim(
        claim, f"(SELECT e.embedding FROM claims e WHERE e.id = {claim}.id)"
    ),
}

# The columns a page carries from its inner query (claims leave their embedding behind).
PAGE_COLUMNS: dict[str, sql.Composable] = {
    "claims": sql.SQL(
        "x.id, x.lineage_id, x.version, x.claim_type, x.content, x.formal_content, "
        "x.namespace_id, x.created_by, x.supersedes, x.status, x.attrs, x.created_at"
    ),
    "edges": sql.SQL(
        "x.id, x.source_id, x.target_id, x.edge_type, x.strength, x.created_by, "
        "x.source_provenance, x.attrs, x.created_at"
    ),
    "reviews": sql.SQL("x.*"),
    "agents": sql.SQL("x.*"),
    "sources": sql.SQL("x.*"),
    "bundles": sql.SQL("x.*"),
}

# Columns computed from the row (`{row}` is its alias).
COMPUTED: dict[tuple[str, str], sql.SQL] = {
    # Versions are immutable rows, so "latest" is asked, never stored (as in store.claims).
    ("claims", "is_latest"): sql.SQL(
        "NOT EXISTS (SELECT 1 FROM claims newer "
        "WHERE newer.lineage_id = {row}.lineage_id AND newer.version > {row}.version)"
    ),
    ("sources", "identifiers"): sql.SQL(identifiers_of("{row}")),
    # An incoming edge reads as its type's inverse name.
    ("edges", "inverse_label"): sql.SQL(
        "coalesce((SELECT et.inverse_name FROM edge_types et WHERE et.name = {row}.edge_type), "
        "{row}.edge_type)"
    ),
}

# To-one relations: the table reached and the condition on its row `{row}` given the
# parent row `{parent}` (or the root's parameters, by role).
RELATIONS: dict[str, tuple[str, sql.SQL]] = {
    "root.claim": ("claims", sql.SQL("{row}.id = {id}::uuid")),
    "root.agent": ("agents", sql.SQL("{row}.id = {id}::uuid")),
    "root.source": ("sources", sql.SQL("{row}.id = {id}::uuid")),
    "root.bundle": ("bundles", sql.SQL("{row}.id = {id}::uuid")),
    "root.claims_by_ids": ("claims", sql.SQL("{row}.id = {parent}.id")),
    "claim.created_by": ("agents", sql.SQL("{row}.id = {parent}.created_by")),
    "claim.namespace": ("namespaces", sql.SQL("{row}.id = {parent}.namespace_id")),
    "claim.supersedes": ("claims", sql.SQL("{row}.id = {parent}.supersedes")),
    # One row for every claim, computed from its reviews (store.confidence).
    "claim.confidence": ("confidence", sql.SQL("TRUE")),
    "claim.lineage": ("lineages", sql.SQL("TRUE")),
    "claim.at_risk": ("at_risk", sql.SQL("TRUE")),
    "risk_path.retracted": ("claims", sql.SQL("{row}.id = {parent}.retracted_id")),
    # The claim of a similar row, which is the claim's own row.
    "similar.claim": ("claims", sql.SQL("{row}.id = {parent}.id")),
    "lineage.confidence": ("lineage_confidence", sql.SQL("TRUE")),
    "versioned_review.review": ("reviews", sql.SQL("{row}.id = {parent}.id")),
    # A position only when the extractor gave one of its indexes.
    "provenance.position": (
        "provenance",
        sql.SQL(
            "{row}.id = {parent}.id AND num_nonnulls("
            "{row}.section_index, {row}.paragraph_index, {row}.sentence_index) > 0"
        ),
    ),
    "namespace.parent": ("namespaces", sql.SQL("{row}.id = {parent}.parent_id")),
    "edge.source": ("claims", sql.SQL("{row}.id = {parent}.source_id")),
    "edge.target": ("claims", sql.SQL("{row}.id = {parent}.target_id")),
    "edge.created_by": ("agents", sql.SQL("{row}.id = {parent}.created_by")),
    "edge.type": ("edge_types", sql.SQL("{row}.name = {parent}.edge_type")),
    "edge.source_provenance": ("sources", sql.SQL("{row}.id = {parent}.source_provenance")),
    "source.submitted_by": ("agents", sql.SQL("{row}.id = {parent}.submitted_by")),
    "provenance.claim": ("claims", sql.SQL("{row}.id = {parent}.claim_id")),
    "provenance.source": ("sources", sql.SQL("{row}.id = {parent}.source_id")),
    "provenance.extracted_by": ("agents", sql.SQL("{row}.id = {parent}.extracted_by")),
    "review.reviewer": ("agents", sql.SQL("{row}.id = {parent}.reviewer_id")),
    "review.claim": ("claims", sql.SQL("{row}.id = {parent}.claim_id")),
    "bundle.submitted_by": ("agents", sql.SQL("{row}.id = {parent}.submitted_by")),
    "bundle.contributor": ("agents", sql.SQL("{row}.id = {parent}.contributor_id")),
    "bundle.source": ("sources", sql.SQL("{row}.id = {parent}.source_id")),
}


@dataclass(frozen=True)
class ListSpec:
    table: str
    condition: sql.SQL
    order: sql.SQL
    limit: int | None = None


# Plain lists, in the order the loaders return them.
LISTS: dict[str, ListSpec] = {
    "claim.versions": ListSpec(
        "claims", sql.SQL("x.lineage_id = {parent}.lineage_id"), sql.SQL("x.version"), MAX_VERSIONS
    ),
    "namespace.children": ListSpec(
        "namespaces", sql.SQL("x.parent_id = {parent}.id"), sql.SQL("x.path")
    ),
    "root.namespaces": ListSpec("namespaces", sql.SQL("TRUE"), sql.SQL("x.path")),
    # Siblings in path order are in name order (they share the parent's path).
    "root.namespace_tree": ListSpec(
        "namespaces", sql.SQL("x.parent_id IS NULL"), sql.SQL("x.path")
    ),
    "root.edge_types": ListSpec("edge_types", sql.SQL("TRUE"), sql.SQL("x.category, x.name")),
    "claim.provenance": ListSpec(
        "provenance",
        sql.SQL("x.claim_id = {parent}.id"),
        sql.SQL("x.created_at, x.id"),
        MAX_PROVENANCE_PER_CLAIM,
    ),
    # At most MAX_LINEAGE_REVIEWS per lineage (the loader's statement caps a batch of
    # lineages together, so the two differ only past that many reviews in one request).
    "lineage.reviews": ListSpec(
        "versioned_reviews",
        sql.SQL("x.lineage_id = {parent}.lineage_id"),
        sql.SQL("x.version, x.created_at, x.id"),
        MAX_LINEAGE_REVIEWS,
    ),
    # Nearest first, as `store.risk.retracted_premises` sorts them (by `str` of the id).
    "at_risk.ancestors": ListSpec(
        "risk_paths", sql.SQL("TRUE"), sql.SQL('x.depth, x.retracted_id::text COLLATE "C"')
    ),
    "risk_path.path": ListSpec(
        "claims",
        sql.SQL("x.id = ANY({parent}.path)"),
        sql.SQL("array_position({parent}.path, x.id)"),
    ),
    # Nearest first, `first` of them (the ANN index's order, as the loader reads it).
    "claim.similar": ListSpec("similar", sql.SQL("TRUE"), sql.SQL("x.distance")),
    "claim.artifacts": ListSpec(
        "artifacts",
        sql.SQL(
            "x.id IN (SELECT ac.artifact_id FROM artifact_claims ac "
            "WHERE ac.claim_id = {parent}.id)"
        ),
        sql.SQL("x.created_at, x.id"),
        MAX_ARTIFACTS_PER_OWNER,
    ),
    "bundle.artifacts": ListSpec(
        "artifacts",
        sql.SQL("x.bundle_id = {parent}.id"),
        sql.SQL("x.created_at, x.id"),
        MAX_ARTIFACTS_PER_OWNER,
    ),
    "artifact.claims": ListSpec(
        "claims",
        sql.SQL(
            "x.id IN (SELECT ac.claim_id FROM artifact_claims ac "
            "WHERE ac.artifact_id = {parent}.id)"
        ),
        sql.SQL("x.created_at, x.id"),
        MAX_CLAIMS_PER_ARTIFACT,
    ),
}


@dataclass(frozen=True)
class PageSpec:
    table: str
    # The link to the parent row (TRUE at the root) and the conditions each role adds.
    link: sql.SQL
    conditions: tuple[tuple[str, sql.SQL], ...]
    # The time of the keyset order (`time, id`), which cursors carry.
    time: str = "created_at"


# A claim filter's own conditions on the page's candidate row `x`, each by the role of
# its parameter (`{value}`): `store.claims._conditions`, composed with psycopg.sql. The
# namespace is matched by path through the namespace tree, as the resolvers match it.
CLAIM_FILTER: tuple[tuple[str, sql.SQL], ...] = (
    (
        "namespace",
        sql.SQL("x.namespace_id IN (SELECT id FROM tree WHERE path = {value}::text)"),
    ),
    (
        "namespace_subtree",
        sql.SQL(
            "x.namespace_id IN (SELECT id FROM tree WHERE path = {value}::text "
            "OR starts_with(path, {value}::text || '.'))"
        ),
    ),
    ("claim_types", sql.SQL("x.claim_type = ANY({value}::text[])")),
    ("statuses", sql.SQL("x.status = ANY({value}::text[])")),
    ("created_by", sql.SQL("x.created_by = {value}::uuid")),
    (
        "source",
        sql.SQL(
            "EXISTS (SELECT 1 FROM provenance pv "
            "WHERE pv.claim_id = x.id AND pv.source_id = {value}::uuid)"
        ),
    ),
    ("attrs", sql.SQL("x.attrs @> {value}::jsonb")),
    ("created_after", sql.SQL("x.created_at >= {value}::timestamptz")),
    ("created_before", sql.SQL("x.created_at < {value}::timestamptz")),
    (
        "epistemic_statuses",
        sql.SQL(
            claim_confidence_value("weighted_epistemic_status", "x") + " = ANY({value}::text[])"
        ),
    ),
    (
        "min_confidence",
        sql.SQL(
            claim_confidence_value("weighted_mean_endorsement_confidence", "x")
            + " >= {value}::float8"
        ),
    ),
)
# Markers of a filter (present when true, never values): whether the claim stands on a
# retracted claim, and the nested filters `or` (one marker per branch) and `not`.
AT_RISK, NOT_AT_RISK, NOT = "at_risk", "not_at_risk", "not"


def or_branch(index: int) -> str:
    return f"or{index}"


def filter_param(prefix: str, role: str) -> str:
    """The parameter of `role` in the claim filter whose parameters are named under
    `prefix` (a nested filter's prefix is its parent's and its place: `p3_or1_not`)."""
    return f"{prefix}_{role}"


# The scope of a claim list, decided by its top-level filter alone: latest versions
# only (`latestOnly`), and retracted claims left out unless `statuses` or
# `includeRetracted` is given (store.claims.claim_filter_sql).
CLAIM_SCOPE: tuple[tuple[str, sql.SQL], ...] = (
    ("latest_only", COMPUTED[("claims", "is_latest")]),
    ("not_retracted", sql.SQL("x.status <> 'retracted'")),
)

PAGES: dict[str, PageSpec] = {
    "claims": PageSpec("claims", sql.SQL(claim_visible("x")), CLAIM_SCOPE),
    # The parent claim is one the caller sees; the other end of each edge is probed.
    "claim.outgoing": PageSpec(
        "edges",
        sql.SQL("x.source_id = {parent}.id AND NOT " + hidden_draft("x.target_id")),
        (("edge_types", sql.SQL("x.edge_type = ANY({edge_types}::text[])")),),
    ),
    "claim.reviews": PageSpec("reviews", sql.SQL("x.claim_id = {parent}.id"), ()),
    # The root lists of agents, sources and bundles (store.agents.list_agents,
    # store.sources.list_sources, store.bundles.list_bundles).
    "root.agents": PageSpec(
        "agents", sql.SQL("TRUE"), (("agent_type", sql.SQL("x.agent_type = {agent_type}::text")),)
    ),
    "root.sources": PageSpec(
        "sources",
        sql.SQL("TRUE"),
        (
            ("source_type", sql.SQL("x.source_type = {source_type}::text")),
            # Any identifier of the source, in its canonical spelling.
            (
                "external_ref",
                sql.SQL(
                    "EXISTS (SELECT 1 FROM source_identifiers si "
                    "WHERE si.source_id = x.id AND si.identifier = {external_ref}::text)"
                ),
            ),
        ),
    ),
    "root.bundles": PageSpec(
        "bundles",
        sql.SQL("TRUE"),
        (
            ("idempotency_key", sql.SQL("x.idempotency_key = {idempotency_key}::text")),
            ("submitted_by", sql.SQL("x.submitted_by = {submitted_by}::uuid")),
            ("status", sql.SQL("x.status = {status}::text")),
        ),
        time="submitted_at",
    ),
    "claim.incoming": PageSpec(
        "edges",
        sql.SQL("x.target_id = {parent}.id AND NOT " + hidden_draft("x.source_id")),
        (("edge_types", sql.SQL("x.edge_type = ANY({edge_types}::text[])")),),
    ),
}


def statement(plan: ReadPlan, present: frozenset[str]) -> str:
    """The statement answering `plan`, for a request whose bound parameters are
    `present` (the others are None or False); its text, ready to prepare."""
    builder = _Builder(present, plan.risk_depth)
    data = builder.object_json(plan.fields, None)
    # A traversal's start the caller may not see makes the data null (NOT_FOUND is the
    # executor's to report).
    guards = [start_guard(field) for field in plan.fields if isinstance(field, Traverse)]
    if guards:
        data = sql.SQL("CASE WHEN {} THEN {} END").format(sql.SQL(" AND ").join(guards), data)
    # PostgreSQL never evaluates a CTE no part of the statement reads.
    query = sql.SQL("{} SELECT ({})::text").format(sql.SQL(NAMESPACE_TREE), data)
    return query.as_string()


def fits(plan: ReadPlan) -> bool:
    """Whether every object of the plan fits in one json_build_object call."""
    return _fits(plan.fields)


def _fits(fields: tuple[Selection, ...] | tuple[object, ...]) -> bool:
    if len(fields) > MAX_OBJECT_KEYS:
        return False
    for field in fields:
        if isinstance(field, Related | RelatedList | RowList) and not _fits(field.node.fields):
            return False
        if isinstance(field, Page | PageEdges | PageInfo) and not _fits(field.parts):
            return False
        if isinstance(field, Search | SearchHits | SearchRankings) and not _fits(field.parts):
            return False
        if isinstance(field, Traverse | TraversalNodes) and not _fits(field.parts):
            return False
        if isinstance(field, TraversalEdges) and not _fits(field.node.fields):
            return False
    return True


class _Builder:
    def __init__(self, present: frozenset[str], risk_depth: int) -> None:
        self.present = present
        self.risk_depth = risk_depth
        self.aliases = 0

    def alias(self) -> sql.Identifier:
        self.aliases += 1
        return sql.Identifier(f"t{self.aliases}")

    def params(self, roles: tuple[tuple[str, str], ...]) -> dict[str, sql.Composable]:
        return {role: sql.Placeholder(name) for role, name in roles}

    def object_json(
        self, fields: tuple[Selection, ...], row: sql.Identifier | None, table: str = ""
    ) -> sql.Composed:
        pairs: list[sql.Composable] = []
        for field in fields:
            pairs += [sql.Literal(field.key), self.value(field, row, table)]
        return sql.SQL("json_build_object({})").format(sql.SQL(", ").join(pairs))

    def value(self, field: Selection, row: sql.Identifier | None, table: str) -> sql.Composable:
        if isinstance(field, Constant):
            return sql.Literal(field.value)
        if isinstance(field, Column):
            assert row is not None
            computed = COMPUTED.get((table, field.column))
            column: sql.Composable = (
                computed.format(row=row)
                if computed is not None
                else sql.SQL("{}.{}").format(row, sql.Identifier(field.column))
            )
            if field.time:
                return ISO_TIME.format(time=column)
            return sql.SQL("upper({})").format(column) if field.enum else column
        if isinstance(field, Related):
            return self.related(field, row)
        if isinstance(field, RowList):
            return self.row_list(field, row)
        if isinstance(field, Search):
            where = self.conditions(PAGES["claims"], field, None)
            return search_json(self, field, where, self.present)
        if isinstance(field, Traverse):
            return traverse_json(self, field, self.present)
        if isinstance(field, RelatedList):
            return self.related_list(field)
        return self.page(field, row)

    def related(self, field: Related, parent: sql.Identifier | None) -> sql.Composed:
        table, condition = RELATIONS[field.via]
        row = self.alias()
        where = condition.format(row=row, parent=parent, **self.params(field.roles))
        if table == "claims":
            where = sql.SQL("{} AND {}").format(where, claim_visible_sql(f"t{self.aliases}"))
        source: sql.Composable
        derived = DERIVED.get(table)
        if derived is not None:
            # A row computed from its parent's (`parent`, a constant alias).
            assert parent is not None
            source = sql.SQL("({})").format(sql.SQL(derived(parent.as_string(), self.risk_depth)))
        else:
            source = TABLES[table]
        return sql.SQL("(SELECT {} FROM {} {} WHERE {})").format(
            self.object_json(field.node.fields, row, table), source, row, where
        )

    def related_list(self, field: RelatedList) -> sql.Composed:
        """`(SELECT json_agg(<the row of each id, or null> ORDER BY n) FROM unnest(ids))`."""
        element = self.alias()
        related = self.related(Related(field.key, field.via, field.node), element)
        ids = self.params(field.roles)["ids"]
        return sql.SQL(
            "(SELECT coalesce(json_agg({} ORDER BY {}.n), '[]'::json) "
            "FROM unnest({}::uuid[]) WITH ORDINALITY {}(id, n))"
        ).format(related, element, ids, element)

    def row_list(self, field: RowList, parent: sql.Identifier | None) -> sql.Composed:
        spec = LISTS[field.via]
        row = self.alias()
        limit = sql.SQL(" LIMIT {}").format(sql.Literal(spec.limit)) if spec.limit else sql.SQL("")
        if field.roles:
            limit = sql.SQL(" LIMIT {}::int").format(self.params(field.roles)["limit"])
        table = TABLES.get(spec.table)
        if table is None:  # rows derived from the parent's
            assert parent is not None
            derived = DERIVED[spec.table](parent.as_string(), self.risk_depth)
            table = sql.SQL("({})").format(sql.SQL(derived))
        inner = sql.SQL(
            "SELECT x.*, row_number() OVER (ORDER BY {order}) AS n__ FROM {table} x "
            "WHERE {condition} ORDER BY {order}{limit}"
        ).format(
            order=spec.order.format(parent=parent),
            table=table,
            condition=self.list_condition(spec, parent),
            limit=limit,
        )
        return sql.SQL(
            "(SELECT coalesce(json_agg({} ORDER BY {}.n__), '[]'::json) FROM ({}) {})"
        ).format(self.object_json(field.node.fields, row, spec.table), row, inner, row)

    def list_condition(self, spec: ListSpec, parent: sql.Identifier | None) -> sql.Composable:
        condition = spec.condition.format(parent=parent)
        if spec.table == "claims":
            return sql.SQL("{} AND {}").format(condition, claim_visible_sql("x"))
        return condition

    def conditions(
        self, spec: PageSpec, field: Page | Search, parent: sql.Identifier | None
    ) -> sql.Composed:
        params = self.params(field.roles)
        names = dict(field.roles)
        parts: list[sql.Composable] = [spec.link.format(parent=parent)]
        for role, condition in spec.conditions:
            if names.get(role) in self.present:
                parts.append(condition.format(row=sql.SQL("x"), **params))
        if field.filter is not None:
            parts += self.claim_filter(field.filter)
        return sql.SQL(" AND ").join(parts)

    def claim_filter(self, prefix: str) -> list[sql.Composable]:
        """The conditions of the claim filter named under `prefix`, as
        `store.claims._conditions` makes them: its own, then `or` and `not`."""
        parts: list[sql.Composable] = []
        for role, condition in CLAIM_FILTER:
            name = filter_param(prefix, role)
            if name in self.present:
                parts.append(condition.format(value=sql.Placeholder(name)))
        risk = sql.SQL(at_risk_condition(self.risk_depth, "x"))
        if filter_param(prefix, AT_RISK) in self.present:
            parts.append(risk)
        if filter_param(prefix, NOT_AT_RISK) in self.present:
            parts.append(sql.SQL("NOT {}").format(risk))
        branches: list[sql.Composable] = []
        while filter_param(prefix, or_branch(len(branches))) in self.present:
            branch = filter_param(prefix, or_branch(len(branches)))
            branches.append(sql.SQL("({})").format(_all(self.claim_filter(branch))))
        if branches:
            parts.append(sql.SQL("({})").format(sql.SQL(" OR ").join(branches)))
        if filter_param(prefix, NOT) in self.present:
            negated = _all(self.claim_filter(filter_param(prefix, NOT)))
            # coalesce: a condition NULL for a row (no creator) is false, so its negation
            # holds; `not` is the complement, never three-valued.
            parts.append(sql.SQL("NOT coalesce(({}), false)").format(negated))
        return parts

    def page(self, field: Page, parent: sql.Identifier | None) -> sql.Composed:
        spec = PAGES[field.via]
        names = dict(field.roles)
        params = self.params(field.roles)
        descending = names.get("descending") in self.present
        direction = sql.SQL("DESC" if descending else "ASC")
        after = names.get("after_at") in self.present
        where = self.conditions(spec, field, parent)
        keyset: sql.Composable = sql.SQL("")
        time = sql.SQL(spec.time)
        if after:
            keyset = sql.SQL(" AND (x.{}, x.id) {} ({}::timestamptz, {}::uuid)").format(
                time, sql.SQL("<" if descending else ">"), params["after_at"], params["after_id"]
            )
        order = sql.SQL("x.{time} {dir}, x.id {dir}").format(time=time, dir=direction)
        first = sql.SQL("{}::int").format(params["first"])
        inner = sql.SQL(
            "SELECT {columns}, row_number() OVER (ORDER BY {order}) AS n__ "
            "FROM {table} x WHERE {where}{keyset} ORDER BY {order} LIMIT {first} + 1"
        ).format(
            columns=PAGE_COLUMNS[spec.table],
            order=order,
            table=TABLES[spec.table],
            where=where,
            keyset=keyset,
            first=first,
        )
        row = self.alias()
        count = sql.SQL("(SELECT count(*) FROM {} x WHERE {})").format(TABLES[spec.table], where)
        kind = field.cursor_kinds[descending]
        context = _PageContext(row, spec.table, kind, first, after, count, time)
        pairs: list[sql.Composable] = []
        for part in field.parts:
            pairs += [sql.Literal(part.key), self.page_part(part, context)]
        # GROUP BY (): one row even for an empty page, whatever the parts aggregate.
        return sql.SQL("(SELECT json_build_object({}) FROM ({}) {} GROUP BY ())").format(
            sql.SQL(", ").join(pairs), inner, row
        )

    def page_part(
        self, part: PageEdges | PageInfo | TotalCount | Constant, page: _PageContext
    ) -> sql.Composable:
        in_page = sql.SQL("{}.n__ <= {}").format(page.row, page.first)
        if isinstance(part, Constant):
            return sql.Literal(part.value)
        if isinstance(part, TotalCount):
            return page.count
        if isinstance(part, PageEdges):
            pairs: list[sql.Composable] = []
            for edge_part in part.parts:
                pairs.append(sql.Literal(edge_part.key))
                if isinstance(edge_part, Cursor):
                    pairs.append(page.cursor())
                elif isinstance(edge_part, Constant):
                    pairs.append(sql.Literal(edge_part.value))
                else:
                    pairs.append(self.object_json(edge_part.node.fields, page.row, page.table))
            return sql.SQL(
                "coalesce(json_agg(json_build_object({}) ORDER BY {}.n__) FILTER (WHERE {}), "
                "'[]'::json)"
            ).format(sql.SQL(", ").join(pairs), page.row, in_page)
        info: list[sql.Composable] = []
        for info_part in part.parts:
            info += [sql.Literal(info_part.key), self.page_info(info_part, page, in_page)]
        return sql.SQL("json_build_object({})").format(sql.SQL(", ").join(info))

    def page_info(
        self, part: PageInfoField | Constant, page: _PageContext, in_page: sql.Composable
    ) -> sql.Composable:
        if isinstance(part, Constant):
            return sql.Literal(part.value)
        if part.which == "hasNextPage":
            return sql.SQL("count(*) > {}").format(page.first)
        if part.which == "hasPreviousPage":
            return sql.Literal(page.after)
        direction = sql.SQL("ASC" if part.which == "startCursor" else "DESC")
        return sql.SQL("(array_agg({} ORDER BY {}.n__ {}) FILTER (WHERE {}))[1]").format(
            page.cursor(), page.row, direction, in_page
        )


def _all(conditions: list[sql.Composable]) -> sql.Composable:
    """The conjunction of `conditions`; TRUE for none."""
    return sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("TRUE")


@dataclass(frozen=True)
class _PageContext:
    row: sql.Identifier
    table: str
    kind: str
    first: sql.Composable
    after: bool
    count: sql.Composable
    time: sql.SQL

    def cursor(self) -> sql.Composed:
        """`encode_cursor(kind, (time ISO, id))`, in SQL."""
        return sql.SQL(
            "rtrim(translate(encode(convert_to("
            "'[\"' || {kind} || '\",\"' || {created_at} "
            "|| '\",\"' || {row}.id || '\"]', 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"
        ).format(
            kind=sql.Literal(self.kind),
            row=self.row,
            created_at=ISO_TIME.format(time=sql.SQL("{}.{}").format(self.row, self.time)),
        )
