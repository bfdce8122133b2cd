"""Walking the claim graph: breadth-first traversal and shortest paths.

Each walk is ONE recursive CTE. Its working row is a whole BFS level: the frontier, every
node visited so far and the edges that reached the new nodes. Keeping the visited set in
the row (rather than one row per path) is what makes the walk cycle-safe and linear:
a node is taken once, at the first (shallowest) level that reaches it, and cycles,
diamonds and symmetric edges walked both ways cannot make it reappear.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, NamedTuple, TypeVar, get_args
from uuid import UUID

from psycopg import sql

from phiacta.store import Connection
from phiacta.store.claims import CLAIM_COLUMNS, ClaimRow
from phiacta.store.edges import EDGE_COLUMNS
from phiacta.store.rows import EdgeRow
from phiacta.store.visibility import PUBLIC, Visibility, hidden_draft

Direction = Literal["outgoing", "incoming", "both"]

# A shortest-path search stops looking after this many claims, so an unreachable target
# in a dense graph costs a bounded amount of work.
PATH_SEARCH_BUDGET = 100_000

# How many candidate edges a walk's level reads first, per new claim it still needs.
SAMPLE_FACTOR = 2


@dataclass(frozen=True)
class ReachedRow:
    """A claim reached by a walk: at its shortest depth, with the edge that reached it."""

    depth: int
    claim: ClaimRow
    edge: EdgeRow
    parent_id: UUID


class ReachedId(NamedTuple):
    """A claim reached by a walk, by id: its depth and the claim one step closer to the
    start. The ids are text, as a response carries them: PostgreSQL writes them for less
    than Python pays to parse a UUID and format it again (a walk reaches up to 1000
    claims). A tuple, at half the cost of a frozen dataclass each."""

    depth: int
    claim_id: str
    parent_id: str


Reached = TypeVar("Reached", ReachedRow, ReachedId)


@dataclass(frozen=True)
class Walk(Generic[Reached]):
    reached: list[Reached]
    truncated: bool


# Candidates one step from the frontier. Outgoing edges are walked from source to
# target, incoming ones from target to source, and symmetric types always both ways.
_STEP = """
    SELECT e.target_id AS next_id, e.id AS edge_id, e.source_id AS from_id, e.strength
    FROM edges e
    WHERE e.source_id = ANY(w.frontier)
      AND (%(forward)s OR e.edge_type = ANY(%(symmetric)s))
      AND (%(edge_types)s::text[] IS NULL OR e.edge_type = ANY(%(edge_types)s))
      AND e.strength >= %(min_strength)s
  UNION ALL
    SELECT e.source_id, e.id, e.target_id, e.strength
    FROM edges e
    WHERE e.target_id = ANY(w.frontier)
      AND (%(backward)s OR e.edge_type = ANY(%(symmetric)s))
      AND (%(edge_types)s::text[] IS NULL OR e.edge_type = ANY(%(edge_types)s))
      AND e.strength >= %(min_strength)s
"""

# Whether a candidate is retracted: a probe of the small partial index
# ix_claims_retracted, instead of a visit to the claim's heap row for its status.
_RETRACTED = """EXISTS (
            SELECT 1 FROM claims rc WHERE rc.id = fresh.next_id AND rc.status = 'retracted'
        )"""

# Whether a candidate is a draft the caller may not see (drafts are private, and so are
# their edges: a walk neither reaches nor passes through them).
_HIDDEN = hidden_draft("fresh.next_id")

# One BFS level's candidates: new nodes only (not in the visited set), each once
# with its strongest edge among those read, and whether it may be kept (retracted claims
# are left out unless asked for). `{cap}` bounds how many candidate edges are read;
# `{raw}` counts them when it does. The visited check is NOT IN on purpose: PostgreSQL
# runs it as a hashed sub-plan, one hash per level. As a NOT EXISTS anti-join, the
# prepared statement's generic plan chose a nested loop under the sample's LIMIT and
# compared each candidate with each visited claim (50 ms instead of 13 at 10k claims).
_CANDIDATES = f"""
        SELECT fresh.next_id, fresh.edge_id, fresh.from_id, fresh.n_raw,
               (%(include_retracted)s OR NOT {_RETRACTED}) AND NOT {_HIDDEN} AS keep
        FROM (
            SELECT DISTINCT ON (n.next_id) n.next_id, n.edge_id, n.from_id, {{raw}} AS n_raw
            FROM (
                SELECT n.next_id, n.edge_id, n.from_id, n.strength
                FROM ({_STEP}) n
                WHERE n.next_id NOT IN (SELECT unnest(w.visited))
                {{cap}}
            ) n
            ORDER BY n.next_id, n.strength DESC, n.edge_id
        ) fresh
"""


def _packed(candidates: str, usable: str) -> str:
    """The kept candidates, at most `lim.needed`, as one array: their ids, then the edges
    that reached them, then the claims those edges came from. NULL when not `usable`."""
    kept = "FILTER (WHERE c.keep)"
    # OFFSET 0 keeps the planner from inlining the sub-query into each expression that
    # reads `keep`, which would probe the retracted index once per reference.
    return f"""(
        SELECT CASE WHEN {usable} THEN COALESCE(
                   (array_agg(c.next_id) {kept})[:lim.needed]
                   || (array_agg(c.edge_id) {kept})[:lim.needed]
                   || (array_agg(c.from_id) {kept})[:lim.needed],
                   ARRAY[]::uuid[]) END
        FROM ({candidates} OFFSET 0) c
    )"""


# A level needs at most `lim.needed` new claims. It first reads a bounded sample of the
# candidate edges (SAMPLE_FACTOR per needed claim): when the sample holds every candidate,
# or already enough new claims for the level to be the walk's last, the walk takes it.
# Only otherwise (many edges into few new claims) is every candidate read. Without the
# sample, the level that truncates a walk read every edge of its frontier: ~150k at 1M
# claims when the frontier holds a hub, to keep a few hundred of them.
_SAMPLE = _CANDIDATES.replace("{cap}", "LIMIT lim.needed * %(sample_factor)s").replace(
    "{raw}", "count(*) OVER ()"
)
_EVERY = _CANDIDATES.replace("{cap}", "").replace("{raw}", "0")
_SAMPLE_WILL_DO = """coalesce(max(c.n_raw), 0) < lim.needed * %(sample_factor)s
                OR count(*) FILTER (WHERE c.keep) >= lim.needed"""
# The level's OFFSET 0 keeps it from being inlined into each of the five places that
# read `packed` in the walk, and computed that many times.
_LEVEL = f"""
    SELECT COALESCE(
        {_packed(_SAMPLE, _SAMPLE_WILL_DO)},
        {_packed(_EVERY, "TRUE")}
    ) AS packed
    OFFSET 0
"""

_WALK = f"""
WITH RECURSIVE
symmetric_types AS (SELECT array_agg(name) AS names FROM edge_types WHERE is_symmetric),
walk(depth, frontier, visited, edge_ids, from_ids) AS (
    SELECT 0, ARRAY[%(start)s::uuid], ARRAY[%(start)s::uuid], ARRAY[]::uuid[], ARRAY[]::uuid[]
  UNION ALL
    SELECT w.depth + 1, level.ids, w.visited || level.ids, level.edge_ids, level.from_ids
    FROM walk w
    CROSS JOIN LATERAL (
        SELECT LEAST(%(level_limit)s, %(node_budget)s + 2 - cardinality(w.visited)) AS needed
    ) lim
    CROSS JOIN LATERAL ({_LEVEL}) lv
    CROSS JOIN LATERAL (SELECT cardinality(lv.packed) / 3 AS k) n
    CROSS JOIN LATERAL (
        SELECT lv.packed[:n.k] AS ids,
               lv.packed[n.k + 1:2 * n.k] AS edge_ids,
               lv.packed[2 * n.k + 1:] AS from_ids
    ) level
    WHERE w.depth < %(max_depth)s
      AND cardinality(w.visited) <= %(node_budget)s + 1
      AND NOT (%(target)s::uuid IS NOT NULL AND %(target)s = ANY(w.visited))
      AND n.k > 0
),
reached AS (
    SELECT w.depth, r.node_id, r.edge_id, r.from_id
    FROM walk w,
         unnest(w.frontier, w.edge_ids, w.from_ids) AS r(node_id, edge_id, from_id)
    WHERE w.depth > 0
)
"""

# The symmetric type list is a parameter computed by the CTE above; psycopg cannot bind a
# sub-select, so it is spliced in as a scalar sub-query.
_SYMMETRIC = "(SELECT names FROM symmetric_types)::text[]"

_WALK_ANY = _WALK.replace("%(symmetric)s", _SYMMETRIC)

_PARAMETER = re.compile(r"%\((\w+)\)s")


def walk_steps(direction: Direction, values: Mapping[str, sql.Composable]) -> sql.Composed:
    """The walk's steps (`symmetric_types`, `walk`, `reached`: the WITH RECURSIVE part of
    `WALK_FROM`) as a fragment for another statement (the read planner's traverse), its
    direction written in and each parameter named in `values` replaced by its value;
    the others (the caller's visibility) stay as they are."""
    text = _directed(_WALK_ANY, direction)
    parts: list[sql.Composable] = []
    for i, piece in enumerate(_PARAMETER.split(text)):
        if i % 2 == 0:
            parts.append(sql.SQL(piece))
        else:
            parts.append(values.get(piece, sql.SQL(f"%({piece})s")))
    return sql.Composed(parts)


# The reached claims with their rows and edges. Columns: depth, parent id, the claim's
# (ClaimRow's order), the edge's (EdgeRow's order).
WALK_FROM = (
    _WALK_ANY
    + f"""
SELECT r.depth, r.from_id, {CLAIM_COLUMNS}, {EDGE_COLUMNS}
FROM reached r
JOIN claims c ON c.id = r.node_id
JOIN edges e ON e.id = r.edge_id
ORDER BY r.depth, r.node_id
LIMIT %(result_limit)s
"""
)

# The same walk by ids only, as text: no claim or edge row is read after the walk.
WALK_IDS_FROM = (
    _WALK_ANY
    + """
SELECT r.depth, r.node_id::text, r.from_id::text
FROM reached r
ORDER BY r.depth, r.node_id
LIMIT %(result_limit)s
"""
)


def _directed(statement: str, direction: Direction) -> str:
    """The walk with its direction written in as constants. The statement is prepared
    and then run with a generic plan, which cannot fold a bound `forward`: an outgoing
    walk would read every incoming edge of its frontier to keep the symmetric ones. With
    constants, the planner drops the branch or makes the edge type part of its index
    condition."""
    forward = direction in ("outgoing", "both")
    backward = direction in ("incoming", "both")
    return statement.replace("%(forward)s", str(forward).upper()).replace(
        "%(backward)s", str(backward).upper()
    )


_DIRECTED_WALKS = {
    direction: (_directed(WALK_FROM, direction), _directed(WALK_IDS_FROM, direction))
    for direction in get_args(Direction)
}

# A shortest path is searched from both ends at once (bidirectional BFS, still one
# recursive CTE): each round expands the smaller of the two frontiers by one level, and
# the search stops at the first level that touches the other side. It looks at about
# 2 * b^(d/2) claims instead of b^d. A row holds both sides: their frontiers and, for
# every claim seen, its depth, the edge that reached it and its neighbour towards the
# side's end (parallel arrays, the end itself first with NULLs).
_BIDIRECTIONAL_STEP = (
    _STEP.replace("w.frontier", "(CASE WHEN s.fwd THEN s.front_f ELSE s.front_b END)")
    .replace("(%(forward)s OR", "((CASE WHEN s.fwd THEN %(forward)s ELSE %(backward)s END) OR")
    .replace("(%(backward)s OR", "((CASE WHEN s.fwd THEN %(backward)s ELSE %(forward)s END) OR")
)
_PATH_LEVEL = f"""
    SELECT pick.ids, pick.edge_ids, pick.from_ids,
           (SELECT o.id
            FROM unnest(pick.ids) n(id)
            JOIN unnest(CASE WHEN s.fwd THEN s.seen_b ELSE s.seen_f END,
                        CASE WHEN s.fwd THEN s.depth_b ELSE s.depth_f END) o(id, depth)
              ON o.id = n.id
            ORDER BY o.depth, o.id
            LIMIT 1) AS meet
    FROM (
        SELECT array_agg(fresh.next_id) AS ids,
               array_agg(fresh.edge_id) AS edge_ids,
               array_agg(fresh.from_id) AS from_ids
        FROM (
            SELECT fresh.next_id, fresh.edge_id, fresh.from_id
            FROM (
                SELECT DISTINCT ON (n.next_id) n.next_id, n.edge_id, n.from_id
                FROM ({_BIDIRECTIONAL_STEP}) n
                WHERE n.next_id NOT IN (
                    SELECT unnest(CASE WHEN s.fwd THEN s.seen_f ELSE s.seen_b END)
                )
                ORDER BY n.next_id, n.strength DESC, n.edge_id
            ) fresh
            WHERE (%(include_retracted)s OR NOT {_RETRACTED}
                   OR fresh.next_id = %(start)s OR fresh.next_id = %(target)s)
              AND NOT {_HIDDEN}
            LIMIT %(node_budget)s
        ) fresh
    ) pick
"""

SHORTEST_PATH = f"""
WITH RECURSIVE
symmetric_types AS (SELECT array_agg(name) AS names FROM edge_types WHERE is_symmetric),
search(fwd, rounds, front_f, front_b, seen_f, seen_b, depth_f, depth_b,
       edge_f, edge_b, next_f, next_b, meet) AS (
    SELECT TRUE, 0, ARRAY[%(start)s::uuid], ARRAY[%(target)s::uuid],
           ARRAY[%(start)s::uuid], ARRAY[%(target)s::uuid], ARRAY[0], ARRAY[0],
           ARRAY[NULL]::uuid[], ARRAY[NULL]::uuid[], ARRAY[NULL]::uuid[], ARRAY[NULL]::uuid[],
           NULL::uuid
    WHERE %(include_retracted)s
       OR EXISTS (SELECT 1 FROM claims t WHERE t.id = %(target)s AND t.status <> 'retracted')
  UNION ALL
    SELECT
        CASE WHEN s.fwd THEN cardinality(level.ids) <= cardinality(s.front_b)
             ELSE cardinality(s.front_f) <= cardinality(level.ids) END,
        s.rounds + 1,
        CASE WHEN s.fwd THEN level.ids ELSE s.front_f END,
        CASE WHEN s.fwd THEN s.front_b ELSE level.ids END,
        CASE WHEN s.fwd THEN s.seen_f || level.ids ELSE s.seen_f END,
        CASE WHEN s.fwd THEN s.seen_b ELSE s.seen_b || level.ids END,
        CASE WHEN s.fwd
             THEN s.depth_f || array_fill(s.depth_f[cardinality(s.depth_f)] + 1,
                                          ARRAY[cardinality(level.ids)])
             ELSE s.depth_f END,
        CASE WHEN s.fwd THEN s.depth_b
             ELSE s.depth_b || array_fill(s.depth_b[cardinality(s.depth_b)] + 1,
                                          ARRAY[cardinality(level.ids)]) END,
        CASE WHEN s.fwd THEN s.edge_f || level.edge_ids ELSE s.edge_f END,
        CASE WHEN s.fwd THEN s.edge_b ELSE s.edge_b || level.edge_ids END,
        CASE WHEN s.fwd THEN s.next_f || level.from_ids ELSE s.next_f END,
        CASE WHEN s.fwd THEN s.next_b ELSE s.next_b || level.from_ids END,
        level.meet
    FROM search s
    CROSS JOIN LATERAL ({_PATH_LEVEL}) level
    WHERE s.meet IS NULL
      AND s.rounds < %(max_depth)s
      AND cardinality(s.seen_f) + cardinality(s.seen_b) <= %(node_budget)s
      AND level.ids IS NOT NULL
),
-- One row at most (the search stops at its first meeting). Saying so matters: estimated
-- at a dozen rows, the steps below looked like tens of thousands, and the final joins
-- became hash joins over every edge and claim (1.3 s at 100k claims instead of 2 ms).
found AS (SELECT * FROM search WHERE meet IS NOT NULL LIMIT 1),
-- From the meeting claim back to the start, and on to the target: positions in the arrays.
to_start(i) AS (
    SELECT array_position(f.seen_f, f.meet) FROM found f
  UNION ALL
    SELECT array_position(f.seen_f, f.next_f[t.i])
    FROM to_start t, found f
    WHERE f.next_f[t.i] IS NOT NULL
),
to_target(i) AS (
    SELECT array_position(f.seen_b, f.meet) FROM found f
  UNION ALL
    SELECT array_position(f.seen_b, f.next_b[t.i])
    FROM to_target t, found f
    WHERE f.next_b[t.i] IS NOT NULL
),
steps(step, node_id, edge_id, from_id) AS (
    SELECT f.depth_f[t.i], f.seen_f[t.i], f.edge_f[t.i], f.next_f[t.i]
    FROM to_start t, found f
    WHERE f.depth_f[t.i] > 0
  UNION ALL
    SELECT f.depth_f[array_position(f.seen_f, f.meet)] + f.depth_b[array_position(f.seen_b, f.meet)]
           - f.depth_b[t.i] + 1,
           f.next_b[t.i], f.edge_b[t.i], f.seen_b[t.i]
    FROM to_target t, found f
    WHERE f.depth_b[t.i] > 0
)
SELECT s.step, s.from_id, {CLAIM_COLUMNS}, {EDGE_COLUMNS}
FROM steps s
JOIN claims c ON c.id = s.node_id
JOIN edges e ON e.id = s.edge_id
ORDER BY s.step
""".replace("%(symmetric)s", _SYMMETRIC)


_CLAIM_END = 2 + len(ClaimRow.__dataclass_fields__)


def _reached(row: tuple[Any, ...]) -> ReachedRow:
    # Positional: a walk returns up to 1000 rows, and building them by column name cost
    # more than the rest of the Python side of the walk.
    return ReachedRow(
        depth=row[0],
        claim=ClaimRow(*row[2:_CLAIM_END]),
        edge=EdgeRow(*row[_CLAIM_END:]),
        parent_id=row[1],
    )


@dataclass(frozen=True)
class WalkSpec:
    """Where a walk starts and how far and wide it may go."""

    start: UUID
    direction: Direction
    edge_types: Sequence[str] | None
    max_depth: int
    limit: int
    min_strength: float = 0.0
    include_retracted: bool = False
    visibility: Visibility = PUBLIC

    def params(self) -> dict[str, Any]:
        params = _params(
            self.start,
            self.direction,
            self.edge_types,
            self.max_depth,
            self.min_strength,
            self.include_retracted,
            self.visibility,
        )
        limit = self.limit
        return params | {
            "level_limit": limit + 1,
            "node_budget": limit,
            "result_limit": limit + 1,
            "sample_factor": SAMPLE_FACTOR,
        }


def _params(
    start: UUID,
    direction: Direction,
    edge_types: Sequence[str] | None,
    max_depth: int,
    min_strength: float,
    include_retracted: bool,
    visibility: Visibility,
) -> dict[str, Any]:
    return visibility.params() | {
        "start": start,
        "forward": direction in ("outgoing", "both"),
        "backward": direction in ("incoming", "both"),
        "edge_types": list(edge_types) if edge_types is not None else None,
        "max_depth": max_depth,
        "min_strength": min_strength,
        "include_retracted": include_retracted,
        "target": None,
    }


async def walk_from(conn: Connection, spec: WalkSpec) -> Walk[ReachedRow]:
    """Claims within `spec.max_depth` steps of `spec.start` (not itself), shallowest
    first, with their rows and the edges that reached them.

    At most `spec.limit` claims; `truncated` says whether more were reachable.
    """
    cur = await conn.execute(_DIRECTED_WALKS[spec.direction][0], spec.params())
    rows = [_reached(row) for row in await cur.fetchall()]
    return Walk(reached=rows[: spec.limit], truncated=len(rows) > spec.limit)


async def walk_ids_from(conn: Connection, spec: WalkSpec) -> Walk[ReachedId]:
    """The same walk as `walk_from`, by ids only: for callers that need no claim or edge
    column, it saves reading and decoding a row of each per reached claim."""
    cur = await conn.execute(_DIRECTED_WALKS[spec.direction][1], spec.params())
    # Columns in ReachedId's order.
    rows = list(map(ReachedId._make, await cur.fetchall()))
    return Walk(reached=rows[: spec.limit], truncated=len(rows) > spec.limit)


async def shortest_path(
    conn: Connection,
    start: UUID,
    target: UUID,
    *,
    direction: Direction,
    edge_types: Sequence[str] | None,
    max_depth: int,
    include_retracted: bool = False,
    visibility: Visibility = PUBLIC,
) -> list[ReachedRow] | None:
    """The steps of a shortest path from `start` to `target` (first step first), `[]`
    when they are the same claim, or None when none is found within `max_depth`."""
    if start == target:
        return []
    params = _params(start, direction, edge_types, max_depth, 0.0, include_retracted, visibility)
    params |= {
        "target": target,
        "level_limit": PATH_SEARCH_BUDGET,
        "node_budget": PATH_SEARCH_BUDGET,
    }
    cur = await conn.execute(SHORTEST_PATH, params)
    steps = [_reached(row) for row in await cur.fetchall()]
    return steps or None
