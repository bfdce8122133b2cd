"""The read planner's `traverse`: the walk as the first step of the query's statement.

`traverse_field` plans `traverse(start, direction, maxDepth, limit, minStrength,
includeRetracted)` with `truncated`, `start` and `nodes { claim }` (whatever the planner
plans for a Claim), `nodes { depth reachedFrom via }` and `edges` (whatever it plans for
an Edge); the SQL is `store.planner_traversal_sql`'s, whose walk is `store.traversal`'s.
Its binder checks the arguments as the resolver (`graphql.fields.traversal`) does and
leaves to it, by `NotCovered`, every request it would refuse without the database (a
malformed start, a depth, limit or strength out of range), and every `edgeTypes` (the
resolver looks each name up). An unknown start, or one the caller may not see, makes
the statement's data null, and `planner.answer` leaves the request to the executor,
which answers NOT_FOUND.
"""

from __future__ import annotations

from graphql import FieldNode, GraphQLField
from graphql.execution.values import VariableValues, get_argument_values

from phiacta.graphql.engine import planner as plans
from phiacta.graphql.fields.traversal import MAX_TRAVERSAL_LIMIT
from phiacta.store.read_plan import (
    Constant,
    Related,
    TraversalEdges,
    TraversalField,
    TraversalNodes,
    Traverse,
)

TRAVERSE_ROLES = (
    "start",
    "max_depth",
    "limit",
    "min_strength",
    "include_retracted",
    "forward",
    "backward",
)
NODE_FIELDS = frozenset({"depth", "reachedFrom"})
# How a traversal's edges are labelled: as read from the claim they start from.
EDGE_READ_AS = "claim.outgoing"


def traverse_field(
    planner: plans._Planner, key: str, node: FieldNode, definition: GraphQLField
) -> Traverse:
    """The plan of a root `traverse` field, its binder added to the planner's."""
    roles = {role: planner.param() for role in TRAVERSE_ROLES}
    cap = planner.max_traversal_depth

    def bind(variables: VariableValues) -> plans.Params:
        args = get_argument_values(definition, node, variables)
        if args.get("edgeTypes") is not None:
            raise plans.NotCovered("edgeTypes (the resolver looks them up)")
        max_depth, limit, min_strength = args["maxDepth"], args["limit"], args["minStrength"]
        if not 1 <= max_depth <= cap:
            raise plans.NotCovered("a depth the resolver refuses")
        if not 1 <= limit <= MAX_TRAVERSAL_LIMIT:
            raise plans.NotCovered("a limit the resolver refuses")
        if not 0.0 <= min_strength <= 1.0:
            raise plans.NotCovered("a strength the resolver refuses")
        direction = args["direction"].value
        values: plans.Params = {
            "start": plans._uuid(args["start"]),
            "max_depth": max_depth,
            "limit": limit,
            "min_strength": float(min_strength),
            "include_retracted": bool(args["includeRetracted"]),
            "forward": direction in ("outgoing", "both"),
            "backward": direction in ("incoming", "both"),
        }
        return {roles[role]: value for role, value in values.items()}

    planner.binders.append(bind)
    parts: list[TraversalField | TraversalNodes | TraversalEdges | Related | Constant] = []
    for field in planner.selections(node.selection_set):
        part_key = (field.alias or field.name).value
        name = field.name.value
        if name == "__typename":
            parts.append(Constant(part_key, "Traversal"))
        elif name == "truncated":
            parts.append(TraversalField(part_key, name))
        elif name == "start":
            parts.append(Related(part_key, "traverse.start", planner.node("Claim", field)))
        elif name == "nodes":
            parts.append(TraversalNodes(part_key, _node_parts(planner, field)))
        elif name == "edges":
            parts.append(TraversalEdges(part_key, planner.node("Edge", field, EDGE_READ_AS)))
        else:
            raise plans.NotCovered(f"Traversal.{name}")
    return Traverse(key, tuple(parts), tuple(sorted(roles.items())))


def _node_parts(
    planner: plans._Planner, node: FieldNode
) -> tuple[TraversalField | Related | Constant, ...]:
    parts: list[TraversalField | Related | Constant] = []
    for field in planner.selections(node.selection_set):
        key = (field.alias or field.name).value
        name = field.name.value
        if name == "__typename":
            parts.append(Constant(key, "TraversalNode"))
        elif name in NODE_FIELDS:
            parts.append(TraversalField(key, name))
        elif name == "claim":
            parts.append(Related(key, "traverse.claim", planner.node("Claim", field)))
        elif name == "via":
            edge = planner.node("Edge", field, EDGE_READ_AS)
            parts.append(Related(key, "traverse.via", edge))
        else:
            raise plans.NotCovered(f"TraversalNode.{name}")
    return tuple(parts)
