"""The SQL of a planned `traverse`: the walk as the statement's first step, then the
traversal's JSON with its claims and edges, in the same statement.

`traverse_json` is the value of a `Traverse` (`store.read_plan`) inside the statement
of `planner_sql`: a subquery whose WITH walks with `store.traversal`'s own steps
(`walk_steps`, the text the executor's walks run), then keeps the first `limit + 1`
reached claims by (depth, id) as the executor's walk does. For
`traverse(start: $s, limit: 2) { truncated nodes { depth claim { content } } }`:

    (WITH RECURSIVE symmetric_types AS (...), walk(...) AS (...), reached AS (...),
      kept AS (SELECT r.depth, r.node_id, r.edge_id, r.from_id,
          row_number() OVER (ORDER BY r.depth, r.node_id) AS n
        FROM reached r ORDER BY r.depth, r.node_id LIMIT %(p3)s::int + 1)
    SELECT json_build_object('truncated', (SELECT count(*) FROM kept) > %(p3)s::int,
      'nodes', (SELECT coalesce(json_agg(json_build_object('depth', "t1".depth,
          'claim', json_build_object('content', "t2"."content")) ORDER BY "t1".n), '[]'::json)
        FROM (<the start at depth 0> UNION ALL <kept, n <= limit>) "t1"
        JOIN claims "t2" ON "t2".id = "t1".node_id LEFT JOIN edges "t3" ON ...)))

The direction and `includeRetracted` are written in as constants (the roles present),
as the executor's walk writes its direction. The start's visibility is not checked
here: `start_guard` is the condition the whole statement's data depends on (null when
the start is unknown or hidden, and the executor then answers NOT_FOUND).
"""

from __future__ import annotations

from typing import Protocol

from psycopg import sql

from phiacta.store.read_plan import (
    Constant,
    Related,
    Selection,
    TraversalEdges,
    TraversalField,
    TraversalNodes,
    Traverse,
)
from phiacta.store.traversal import SAMPLE_FACTOR, Direction, walk_steps
from phiacta.store.visibility import claim_visible_sql


class Builder(Protocol):
    """What a traversal asks of `planner_sql`'s statement builder: fresh aliases and an
    object's JSON on a row."""

    def alias(self) -> sql.Identifier: ...

    def object_json(
        self, fields: tuple[Selection, ...], row: sql.Identifier | None, table: str = ""
    ) -> sql.Composed: ...


def start_guard(field: Traverse) -> sql.Composed:
    """The condition that the traversal's start is a claim the caller may see."""
    start = sql.Placeholder(dict(field.roles)["start"])
    return sql.SQL("EXISTS (SELECT 1 FROM claims {g} WHERE {g}.id = {start}::uuid AND {v})").format(
        g=sql.Identifier("g"), start=start, v=claim_visible_sql("g")
    )


def traverse_json(builder: Builder, field: Traverse, present: frozenset[str]) -> sql.Composed:
    """The JSON object of `field`, as a subquery; `present`, the statement's present
    parameters."""
    names = dict(field.roles)
    params = {role: sql.Placeholder(name) for role, name in field.roles}
    forward = names["forward"] in present
    backward = names["backward"] in present
    direction: Direction = "both" if forward and backward else "outgoing" if forward else "incoming"
    include = names["include_retracted"] in present
    limit = sql.SQL("{}::int").format(params["limit"])
    start = sql.SQL("{}::uuid").format(params["start"])
    steps = walk_steps(
        direction,
        {
            "start": params["start"],
            "level_limit": sql.SQL("({} + 1)").format(limit),
            "node_budget": limit,
            "max_depth": sql.SQL("{}::int").format(params["max_depth"]),
            "min_strength": sql.SQL("{}::float8").format(params["min_strength"]),
            "include_retracted": sql.SQL("TRUE" if include else "FALSE"),
            "target": sql.SQL("NULL::uuid"),
            "edge_types": sql.SQL("NULL::text[]"),
            "sample_factor": sql.Literal(SAMPLE_FACTOR),
        },
    )
    # The first `limit + 1` reached claims, as the executor's walk reads them: the extra
    # one says the walk was truncated.
    kept = sql.SQL(
        "kept AS (SELECT r.depth, r.node_id, r.edge_id, r.from_id, "
        "row_number() OVER (ORDER BY r.depth, r.node_id) AS n FROM reached r "
        "ORDER BY r.depth, r.node_id LIMIT {limit} + 1)"
    ).format(limit=limit)
    pairs: list[sql.Composable] = []
    for part in field.parts:
        pairs.append(sql.Literal(part.key))
        if isinstance(part, Constant):
            pairs.append(sql.Literal(part.value))
        elif isinstance(part, TraversalField):
            assert part.which == "truncated"
            pairs.append(sql.SQL("((SELECT count(*) FROM kept) > {})").format(limit))
        elif isinstance(part, Related):
            row = builder.alias()
            pairs.append(
                sql.SQL("(SELECT {} FROM claims {} WHERE {}.id = {})").format(
                    builder.object_json(part.node.fields, row, "claims"), row, row, start
                )
            )
        elif isinstance(part, TraversalNodes):
            pairs.append(_nodes(builder, part, start, limit))
        else:
            pairs.append(_edges(builder, part, limit))
    return sql.SQL("({steps}, {kept} SELECT json_build_object({pairs}))").format(
        steps=steps, kept=kept, pairs=sql.SQL(", ").join(pairs)
    )


def _nodes(
    builder: Builder, nodes: TraversalNodes, start: sql.Composable, limit: sql.Composable
) -> sql.Composed:
    """The start at depth 0, then each kept claim up to `limit`, in order."""
    k, claim, edge = builder.alias(), builder.alias(), builder.alias()
    pairs: list[sql.Composable] = []
    for part in nodes.parts:
        pairs.append(sql.Literal(part.key))
        if isinstance(part, Constant):
            pairs.append(sql.Literal(part.value))
        elif isinstance(part, TraversalField):
            column = "depth" if part.which == "depth" else "from_id"
            pairs.append(sql.SQL("{}.{}").format(k, sql.Identifier(column)))
        elif part.via == "traverse.claim":
            pairs.append(builder.object_json(part.node.fields, claim, "claims"))
        else:
            assert part.via == "traverse.via"
            pairs.append(
                sql.SQL("CASE WHEN {}.edge_id IS NOT NULL THEN {} END").format(
                    k, builder.object_json(part.node.fields, edge, "edges")
                )
            )
    return sql.SQL(
        "(SELECT coalesce(json_agg(json_build_object({pairs}) ORDER BY {k}.n), '[]'::json) "
        "FROM (SELECT 0 AS depth, {start} AS node_id, NULL::uuid AS edge_id, "
        "NULL::uuid AS from_id, 0::bigint AS n "
        "UNION ALL SELECT depth, node_id, edge_id, from_id, n FROM kept WHERE n <= {limit}) {k} "
        "JOIN claims {claim} ON {claim}.id = {k}.node_id "
        "LEFT JOIN edges {edge} ON {edge}.id = {k}.edge_id)"
    ).format(pairs=sql.SQL(", ").join(pairs), k=k, start=start, limit=limit, claim=claim, edge=edge)


def _edges(builder: Builder, edges: TraversalEdges, limit: sql.Composable) -> sql.Composed:
    """The edge that reached each kept claim up to `limit`, in the claims' order."""
    k, edge = builder.alias(), builder.alias()
    return sql.SQL(
        "(SELECT coalesce(json_agg({obj} ORDER BY {k}.n), '[]'::json) "
        "FROM kept {k} JOIN edges {edge} ON {edge}.id = {k}.edge_id WHERE {k}.n <= {limit})"
    ).format(obj=builder.object_json(edges.node.fields, edge, "edges"), k=k, edge=edge, limit=limit)
