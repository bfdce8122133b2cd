"""Walking the graph: traversals, shortest paths and the evidence around a claim."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Union, cast
from uuid import UUID

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

from phiacta.errors import ErrorCode, FieldProblem, LimitExceeded, NotFound, ValidationFailed
from phiacta.graphql.context import Info
from phiacta.graphql.engine.plain_lists import CompletedList
from phiacta.graphql.ids import id_problem, uuid_of
from phiacta.graphql.types import Claim, Edge
from phiacta.store import traversal as traversal_store
from phiacta.store.claims import ClaimRow
from phiacta.store.traversal import ReachedId, ReachedRow, Walk

DEFAULT_TRAVERSAL_LIMIT = 100
MAX_TRAVERSAL_LIMIT = 1000
MAX_EVIDENCE_PER_KIND = 200

NET_SUPPORT_FORMULA = (
    "netSupport = (S - C) / (S + C), where S sums strength / depth over the supporting and "
    "corroborating claims and C sums strength over the contradicting ones (the strength of "
    "the edge that reached each claim, depth its distance); 0 when there is no evidence. "
    "It runs from -1 (only contradicted) to 1 (only supported)."
)


@strawberry.enum(description="Which way edges are followed.")
class TraversalDirection(Enum):
    OUTGOING = "outgoing"
    INCOMING = "incoming"
    BOTH = "both"


@strawberry.type(description="A claim reached by a walk, at its shortest depth.")
class TraversalNode:
    claim: Claim
    depth: int = strawberry.field(description="Steps from the start (the start is 0).")
    via: Edge | None = strawberry.field(
        description="The edge the claim was reached by; null for the start."
    )
    reached_from: UUID | None = strawberry.field(
        description="The claim one step closer to the start; null for the start."
    )


@strawberry.type(description="The claims within reach of a start claim.")
class Traversal:
    start: Claim
    nodes: list[TraversalNode] = strawberry.field(
        description="The start, then every reached claim once, shallowest first."
    )
    edges: list[Edge] = strawberry.field(description="The edges walked, one per reached claim.")
    truncated: bool = strawberry.field(
        description="Whether more claims were within reach than `limit` allowed."
    )


@strawberry.type(description="A shortest path between two claims.")
class Path:
    length: int = strawberry.field(description="The number of edges.")
    claims: list[Claim] = strawberry.field(description="From the start to the end, in order.")
    edges: list[Edge] = strawberry.field(description="The edges between them, in order.")


@strawberry.type(description="A claim that bears on another as evidence.")
class EvidenceItem:
    claim: Claim
    depth: int
    via: Edge


@strawberry.type(description=f"How the evidence around a claim adds up. {NET_SUPPORT_FORMULA}")
class EvidenceSummary:
    supporting_count: int
    contradicting_count: int
    corroborating_count: int
    net_support: float = strawberry.field(description=NET_SUPPORT_FORMULA)


@strawberry.type(description="Supporting, contradicting and corroborating claims of a claim.")
class Evidence:
    claim: Claim
    supporting: list[EvidenceItem] = strawberry.field(
        description="Claims with a chain of `supports` edges into this claim, up to the depth."
    )
    corroborating: list[EvidenceItem] = strawberry.field(
        description="Claims with a chain of `corroborates` edges into this claim."
    )
    contradicting: list[EvidenceItem] = strawberry.field(
        description="Claims joined to this one by `contradicts` (either way). Contradiction is "
        "not transitive, so only direct ones count, whatever the depth."
    )
    summary: EvidenceSummary
    truncated: bool = strawberry.field(
        description=f"Whether a list was cut at {MAX_EVIDENCE_PER_KIND} claims."
    )


def check_depth(info: Info, max_depth: int, path: str = "maxDepth") -> None:
    cap = info.context.settings.max_traversal_depth
    if max_depth < 1:
        raise ValidationFailed.single(path, "must be at least 1")
    if max_depth > cap:
        raise LimitExceeded(f"{path} {max_depth} is above the maximum traversal depth {cap}")


async def check_edge_types(info: Info, edge_types: list[str] | None) -> list[str] | None:
    """The named edge types, each known, or VALIDATION_FAILED naming the unknown ones."""
    if edge_types is None:
        return None
    if not edge_types:
        raise ValidationFailed.single("edgeTypes", "name at least one edge type, or omit it")
    rows = await info.context.loaders.edge_type.load_many(edge_types)
    problems = [
        FieldProblem(f"edgeTypes[{i}]", f"unknown edge type {name!r}", ErrorCode.EDGE_TYPE_UNKNOWN)
        for i, (name, row) in enumerate(zip(edge_types, rows, strict=True))
        if row is None
    ]
    if problems:
        raise ValidationFailed(problems)
    return sorted(set(edge_types))


async def existing_claim(info: Info, claim_id: UUID, path: str) -> ClaimRow:
    row = await info.context.loaders.claim.load(claim_id)
    if row is None:
        raise NotFound(f"{path}: no claim {claim_id}")
    return row


def node_of(reached: ReachedRow) -> TraversalNode:
    return TraversalNode(
        claim=Claim.from_row(reached.claim),
        depth=reached.depth,
        via=Edge.from_row(reached.edge),
        reached_from=reached.parent_id,
    )


def traversal_of(info: Info, start: ClaimRow, walk: Walk[ReachedRow]) -> Traversal:
    info.context.loaders.prime_claims([r.claim for r in walk.reached])
    info.context.loaders.prime_edges([r.edge for r in walk.reached])
    root = Claim.from_row(start)
    nodes = [TraversalNode(claim=root, depth=0, via=None, reached_from=None)]
    nodes += [node_of(r) for r in walk.reached]
    return Traversal(
        start=root,
        nodes=nodes,
        # The same Edge objects as the nodes' `via`.
        edges=[node.via for node in nodes[1:] if node.via is not None],
        truncated=walk.truncated,
    )


def claim_with_id_only(claim_id: UUID) -> Claim:
    """A Claim that carries its id and nothing else, for a selection that reads nothing
    else of it (see `reads_only_ids`): the full object would need the claim's row."""
    claim = Claim.__new__(Claim)
    claim.id = claim_id
    return claim


def traversal_by_ids(start: ClaimRow, walk: Walk[ReachedId], shape: NodeShape | None) -> Traversal:
    """A traversal for a selection that reads no more of the reached claims than their
    ids, and no edge: `via` is null and `edges` empty, since they are not read. With the
    selection's `shape`, the nodes come already completed."""
    root = Claim.from_row(start)
    if shape is not None:
        nodes: list[TraversalNode] = shape.complete(root.id, walk.reached)
        return Traversal(start=root, nodes=nodes, edges=[], truncated=walk.truncated)
    nodes = [TraversalNode(claim=root, depth=0, via=None, reached_from=None)]
    nodes += [
        TraversalNode(
            claim=claim_with_id_only(UUID(r.claim_id)),
            depth=r.depth,
            via=None,
            reached_from=UUID(r.parent_id),
        )
        for r in walk.reached
    ]
    return Traversal(start=root, nodes=nodes, edges=[], truncated=walk.truncated)


@dataclass(frozen=True)
class NodeShape:
    """What a by-ids selection asks of each traversal node, by response name: its own
    leaves, each as its position in a ReachedId row (`depth` 0, `reachedFrom` 2) or -1
    for `__typename`, and per `claim` key the claim's fields, each true for `id` and false
    for `__typename`. Completing 1000 nodes from it costs a fraction of graphql-core's
    completion, even the plain one (see plain_lists.py)."""

    leaves: tuple[tuple[str, int], ...]
    claims: tuple[tuple[str, tuple[tuple[str, bool], ...]], ...]

    def complete(self, start_id: UUID, reached: list[ReachedId]) -> list[TraversalNode]:
        completed = CompletedList([self._node((0, str(start_id), None))])
        completed += [self._node(r) for r in reached]
        # The executor passes a CompletedList through as the field's response.
        return cast("list[TraversalNode]", completed)

    def _node(self, row: tuple[int, str, str | None]) -> dict[str, object]:
        node: dict[str, object] = {
            key: "TraversalNode" if i < 0 else row[i] for key, i in self.leaves
        }
        claim_id = row[1]
        for key, fields in self.claims:
            node[key] = {k: claim_id if is_id else "Claim" for k, is_id in fields}
        return node


_LEAF_POSITIONS = {"depth": 0, "reachedFrom": 2, "__typename": -1}


def node_shape(info: Info) -> NodeShape | None:
    """The shape of this `traverse`'s nodes when it can be completed directly: a by-ids
    selection (nodes read for depth, reachedFrom, __typename and the claim's id) with
    `nodes` under one response name and no directive anywhere. Otherwise None, and
    graphql-core completes the nodes."""
    raw = info._raw_info
    top = _collect([node.selection_set for node in raw.field_nodes], raw.fragments)
    if top is None:
        return None
    nodes = [(key, sets) for key, (name, sets) in top.items() if name == "nodes"]
    if len(nodes) != 1:
        return None
    node_fields = _collect(nodes[0][1], raw.fragments)
    if node_fields is None:
        return None
    leaves: list[tuple[str, int]] = []
    claims: list[tuple[str, tuple[tuple[str, bool], ...]]] = []
    for key, (name, sets) in node_fields.items():
        if name != "claim":
            if name not in _LEAF_POSITIONS:
                return None
            leaves.append((key, _LEAF_POSITIONS[name]))
            continue
        claim_fields = _collect(sets, raw.fragments)
        if claim_fields is None:
            return None
        if any(n not in ("id", "__typename") for n, _ in claim_fields.values()):
            return None
        claims.append((key, tuple((k, n == "id") for k, (n, _) in claim_fields.items())))
    return NodeShape(tuple(leaves), tuple(claims))


def _collect(
    selection_sets: list[SelectionSetNode | None],
    fragments: dict[str, FragmentDefinitionNode],
) -> dict[str, tuple[str, list[SelectionSetNode | None]]] | None:
    """The fields of these selection sets merged by response name, in order, as
    graphql-core collects them: fragments spread in (on these concrete types, a valid
    fragment always applies). None when a directive would need evaluating."""
    collected: dict[str, tuple[str, list[SelectionSetNode | None]]] = {}
    pending = [s for s in selection_sets if s is not None]
    while pending:
        for selection in pending.pop(0).selections:
            if selection.directives:
                return None
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                entry = collected.setdefault(key, (selection.name.value, []))
                entry[1].append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                if fragment.directives:
                    return None
                pending.append(fragment.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
    return collected


# What a traversal selection may read and still be answered by ids (`traversal_by_ids`):
# per field, None for a leaf or anything below it, else the fields allowed below.
_Allowed = dict[str, Union["_Allowed", None]]
_READ_BY_IDS: _Allowed = {
    "__typename": None,
    "truncated": None,
    "start": None,
    "nodes": {
        "__typename": None,
        "depth": None,
        "reachedFrom": None,
        "claim": {"__typename": None, "id": None},
    },
}


def reads_only_ids(info: Info) -> bool:
    """Whether this `traverse` selection reads of the reached claims only their ids, and
    no edge. Fragments are looked into; a field under @skip or @include counts as read."""
    # graphql-core's field nodes, as in `claim(id)`: Strawberry's `selected_fields` would
    # convert the whole selection tree on every call.
    raw = info._raw_info
    return all(
        _within(node.selection_set, _READ_BY_IDS, raw.fragments)
        for node in raw.field_nodes
        if node.selection_set is not None
    )


def _within(
    selection_set: SelectionSetNode,
    allowed: _Allowed,
    fragments: dict[str, FragmentDefinitionNode],
) -> bool:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name not in allowed:
                return False
            below = allowed[name]
            inner = selection.selection_set
            if below is None or inner is None:
                continue
        elif isinstance(selection, FragmentSpreadNode):
            inner, below = fragments[selection.name.value].selection_set, allowed
        elif isinstance(selection, InlineFragmentNode):
            inner, below = selection.selection_set, allowed
        else:
            return False
        if not _within(inner, below, fragments):
            return False
    return True


def _items(walk: Walk[ReachedRow]) -> list[EvidenceItem]:
    return [
        EvidenceItem(claim=Claim.from_row(r.claim), depth=r.depth, via=Edge.from_row(r.edge))
        for r in walk.reached
    ]


def net_support(
    supporting: list[tuple[float, int]], contradicting: list[tuple[float, int]]
) -> float:
    """See NET_SUPPORT_FORMULA; each item is (strength, depth)."""
    s = sum(strength / depth for strength, depth in supporting)
    c = sum(strength for strength, _ in contradicting)
    return 0.0 if s + c == 0 else (s - c) / (s + c)


async def evidence_of(info: Info, claim: ClaimRow, depth: int) -> Evidence:
    async def walk(
        direction: traversal_store.Direction, edge_type: str, to_depth: int
    ) -> Walk[ReachedRow]:
        async with info.context.connection() as conn:
            spec = traversal_store.WalkSpec(
                claim.id,
                direction,
                [edge_type],
                to_depth,
                MAX_EVIDENCE_PER_KIND,
                visibility=info.context.visibility,
            )
            return await traversal_store.walk_from(conn, spec)

    supporting = await walk("incoming", "supports", depth)
    corroborating = await walk("incoming", "corroborates", depth)
    contradicting = await walk("both", "contradicts", 1)
    walks = (supporting, corroborating, contradicting)
    for w in walks:
        info.context.loaders.prime_claims([r.claim for r in w.reached])
    summary = EvidenceSummary(
        supporting_count=len(supporting.reached),
        contradicting_count=len(contradicting.reached),
        corroborating_count=len(corroborating.reached),
        net_support=net_support(
            [(r.edge.strength, r.depth) for r in supporting.reached + corroborating.reached],
            [(r.edge.strength, r.depth) for r in contradicting.reached],
        ),
    )
    return Evidence(
        claim=Claim.from_row(claim),
        supporting=_items(supporting),
        corroborating=_items(corroborating),
        contradicting=_items(contradicting),
        summary=summary,
        truncated=any(w.truncated for w in walks),
    )


@strawberry.type
class TraversalQueries:
    @strawberry.field(
        description="Every claim within `maxDepth` edges of `start` (1..MAX_TRAVERSAL_DEPTH, "
        "default 3; above the cap is LIMIT_EXCEEDED), each once at its shortest depth with "
        "the edge that reached it. Symmetric edge types are walked both ways; cycles are "
        "safe. At most `limit` claims besides the start (1..1000, default 100), and "
        "`truncated` tells when more were in reach. Retracted claims are not walked "
        "unless `includeRetracted`. An unknown start is NOT_FOUND."
    )
    async def traverse(
        self,
        info: Info,
        start: strawberry.ID,
        direction: TraversalDirection = TraversalDirection.OUTGOING,
        edge_types: list[str] | None = None,
        max_depth: int = 3,
        limit: int = DEFAULT_TRAVERSAL_LIMIT,
        min_strength: float = 0.0,
        include_retracted: bool = False,
    ) -> Traversal:
        check_depth(info, max_depth)
        problems: list[FieldProblem] = []
        if (problem := id_problem(start, "start")) is not None:
            problems.append(problem)
        if not 1 <= limit <= MAX_TRAVERSAL_LIMIT:
            problems.append(FieldProblem("limit", f"must be between 1 and {MAX_TRAVERSAL_LIMIT}"))
        if not 0.0 <= min_strength <= 1.0:
            problems.append(FieldProblem("minStrength", "must be between 0 and 1"))
        if problems:
            raise ValidationFailed(problems)
        types = await check_edge_types(info, edge_types)
        root = await existing_claim(info, UUID(start), "start")
        async with info.context.connection() as conn:
            spec = traversal_store.WalkSpec(
                root.id,
                direction.value,
                types,
                max_depth,
                limit,
                min_strength=min_strength,
                include_retracted=include_retracted,
                visibility=info.context.visibility,
            )
            # A walk of 1000 claims read by id (the common case: ids and depths) costs a
            # fraction of one that reads and decodes each claim's and edge's row.
            if reads_only_ids(info):
                walk_ids = await traversal_store.walk_ids_from(conn, spec)
                return traversal_by_ids(root, walk_ids, node_shape(info))
            walk = await traversal_store.walk_from(conn, spec)
        return traversal_of(info, root, walk)

    @strawberry.field(
        description="A shortest path from `from` to `to` within `maxDepth` edges (default 5, "
        "at most MAX_TRAVERSAL_DEPTH), following edges in `direction` (default BOTH: any "
        "connection), or null when there is none. Retracted claims are not passed through. "
        "The search looks at no more than 100,000 claims."
    )
    async def path(
        self,
        info: Info,
        from_: Annotated[strawberry.ID, strawberry.argument(name="from")],
        to: strawberry.ID,
        edge_types: list[str] | None = None,
        max_depth: int = 5,
        direction: TraversalDirection = TraversalDirection.BOTH,
    ) -> Path | None:
        check_depth(info, max_depth)
        from_id, to_id = uuid_of(from_, "from"), uuid_of(to, "to")
        types = await check_edge_types(info, edge_types)
        start = await existing_claim(info, from_id, "from")
        await existing_claim(info, to_id, "to")
        async with info.context.connection() as conn:
            steps = await traversal_store.shortest_path(
                conn,
                from_id,
                to_id,
                direction=direction.value,
                edge_types=types,
                max_depth=max_depth,
                visibility=info.context.visibility,
            )
        if steps is None:
            return None
        info.context.loaders.prime_claims([s.claim for s in steps])
        return Path(
            length=len(steps),
            claims=[Claim.from_row(start)] + [Claim.from_row(s.claim) for s in steps],
            edges=[Edge.from_row(s.edge) for s in steps],
        )

    @strawberry.field(
        description="The supporting, corroborating and contradicting claims of a claim up to "
        f"`depth` (default 1, at most MAX_TRAVERSAL_DEPTH), with a summary. "
        f"{NET_SUPPORT_FORMULA} An unknown claim is NOT_FOUND."
    )
    async def evidence(self, info: Info, claim_id: strawberry.ID, depth: int = 1) -> Evidence:
        check_depth(info, depth, "depth")
        claim = await existing_claim(info, uuid_of(claim_id, "claimId"), "claimId")
        return await evidence_of(info, claim, depth)
