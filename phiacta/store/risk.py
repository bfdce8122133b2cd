"""Retraction impact: which claims stand on a retracted claim.

A claim depends on another when it `depends_on`, `assumes` or `derives_from` it, or when
the other `implies` it. A claim is at risk when a retracted claim lies within
MAX_TRAVERSAL_DEPTH such steps of it. A version counts as retracted only while it is
the newest of its lineage: revising a retracted claim (a new version, which takes over
its edges) un-retracts it, and its dependents are no longer at risk.

Each walk is one recursive CTE, breadth first, taking each claim once at its shortest
depth with the claim it was reached from (so the path to each claim is read back from
those parents), bounded by depth and by MAX_RISK_CLAIMS. Drafts the caller may not see
are not walked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from phiacta.store import Connection
from phiacta.store.visibility import Visibility, hidden_draft

# dependent -> premise
DEPENDENCY_TYPES = ("depends_on", "assumes", "derives_from")
# premise -> dependent
IMPLICATION_TYPES = ("implies",)
# The most claims one walk takes (and the most at-risk events one retraction writes).
MAX_RISK_CLAIMS = 1000

Towards = Literal["premises", "dependents"]

# The ends of a dependency edge (depends_on, assumes, derives_from) seen from each
# side: towards premises a step goes from its source to its target; `implies` runs the
# other way. Fixed fragments only.
_ENDS: dict[Towards, tuple[str, str]] = {
    "premises": ("source_id", "target_id"),
    "dependents": ("target_id", "source_id"),
}


def _step(towards: Towards, frontier: str) -> str:
    """One step from the claims matched by `frontier` (e.g. `= ANY(w.frontier)`): the
    next claim and the one it was reached from."""
    near, far = _ENDS[towards]
    return f"""
        SELECT e.{far} AS next_id, e.{near} AS from_id FROM edges e
        WHERE e.{near} {frontier}
          AND e.edge_type IN ('depends_on', 'assumes', 'derives_from')
      UNION ALL
        SELECT e.{near}, e.{far} FROM edges e
        WHERE e.{far} {frontier} AND e.edge_type = 'implies'"""


def _walk(
    towards: Towards,
    start: str = "%(start)s",
    max_depth: str = "%(max_depth)s",
    budget: str = "%(budget)s",
) -> str:
    """One row: every claim reached from `start` (itself first) and, in step, the claim
    each was reached from. `start`, `max_depth` and `budget` are SQL expressions (the
    statement's parameters by default), constants of the caller."""
    return f"""
WITH RECURSIVE walk(depth, frontier, visited, parents) AS (
    SELECT 0, ARRAY[{start}::uuid], ARRAY[{start}::uuid], ARRAY[NULL]::uuid[]
  UNION ALL
    SELECT w.depth + 1, lv.ids, w.visited || lv.ids, w.parents || lv.froms
    FROM walk w
    CROSS JOIN LATERAL (
        SELECT array_agg(n.next_id) AS ids, array_agg(n.from_id) AS froms
        FROM (
            SELECT DISTINCT ON (s.next_id) s.next_id, s.from_id
            FROM ({_step(towards, "= ANY(w.frontier)")}) s
            WHERE s.next_id <> ALL(w.visited)
              AND NOT {hidden_draft("s.next_id")}
            ORDER BY s.next_id, s.from_id
            LIMIT {budget}
        ) n
    ) lv
    WHERE w.depth < {max_depth}
      AND lv.ids IS NOT NULL
      AND cardinality(w.visited) <= {budget}
)
SELECT w.visited, w.parents FROM walk w ORDER BY w.depth DESC LIMIT 1
"""


_WALKS = {towards: _walk(towards) for towards in ("premises", "dependents")}


def _retracted_newest(claim: str) -> str:
    """The claim row `claim` is retracted and the newest version of its lineage."""
    return f"""{claim}.status = 'retracted'
  AND NOT EXISTS (
      SELECT 1 FROM claims newer
      WHERE newer.lineage_id = {claim}.lineage_id AND newer.version > {claim}.version
  )"""


# Which of these claims are retracted as the newest version of their lineage.
RETRACTED_AMONG = f"""
SELECT c.id
FROM claims c
WHERE c.id = ANY(%(ids)s)
  AND {_retracted_newest("c")}
"""


@dataclass(frozen=True)
class RiskPath:
    """A claim at risk and the retracted claim it stands on, with the path between them
    (claim ids from the one at risk to the retracted one, both included)."""

    at_risk_id: UUID
    retracted_id: UUID
    path: list[UUID]


async def _walk_from(
    conn: Connection,
    start: UUID,
    towards: Towards,
    max_depth: int,
    visibility: Visibility,
) -> dict[UUID, UUID | None]:
    """Each claim reached from `start` (itself included) with its parent towards it."""
    cur = await conn.execute(
        _WALKS[towards],
        {"start": start, "max_depth": max_depth, "budget": MAX_RISK_CLAIMS} | visibility.params(),
    )
    row = await cur.fetchone()
    if row is None:
        return {start: None}
    visited, parents = row
    return dict(zip(visited, parents, strict=True))


def _chain(node: UUID, parents: dict[UUID, UUID | None]) -> list[UUID]:
    """`node`, its parent, ... up to the start of the walk."""
    chain = [node]
    while (parent := parents.get(chain[-1])) is not None:
        chain.append(parent)
    return chain


async def retracted_premises(
    conn: Connection, claim_ids: Sequence[UUID], max_depth: int, visibility: Visibility
) -> dict[UUID, list[RiskPath]]:
    """For each claim, the retracted claims it stands on (nearest first), with paths."""
    found: dict[UUID, list[RiskPath]] = {}
    for claim_id in claim_ids:
        parents = await _walk_from(conn, claim_id, "premises", max_depth, visibility)
        reached = [node for node in parents if node != claim_id]
        retracted = await _retracted_among(conn, reached)
        paths = [RiskPath(claim_id, r, list(reversed(_chain(r, parents)))) for r in retracted]
        found[claim_id] = sorted(paths, key=lambda p: (len(p.path), str(p.retracted_id)))
    return found


async def dependents_of(
    conn: Connection, retracted_id: UUID, max_depth: int, visibility: Visibility
) -> list[RiskPath]:
    """Every claim standing on `retracted_id` (at most MAX_RISK_CLAIMS), nearest first,
    each with its path to it."""
    parents = await _walk_from(conn, retracted_id, "dependents", max_depth, visibility)
    paths = [
        RiskPath(node, retracted_id, _chain(node, parents))
        for node in parents
        if node != retracted_id
    ]
    return sorted(paths, key=lambda p: (len(p.path), str(p.at_risk_id)))


async def _retracted_among(conn: Connection, ids: list[UUID]) -> list[UUID]:
    if not ids:
        return []
    cur = await conn.execute(RETRACTED_AMONG, {"ids": ids})
    return [row[0] for row in await cur.fetchall()]


def at_risk_condition(max_depth: int, claim: str = "c") -> str:
    """The condition (on the claim row `claim`, a constant alias of the calling
    statement) that a claim stands on a retracted claim: the dependents of every
    retracted newest version, walked to `max_depth` (a constant of the settings, never
    client input). Uses the caller's visibility parameters."""
    depth = int(max_depth)
    return f"""{claim}.id IN (
        WITH RECURSIVE risk(id, depth) AS (
            SELECT r.id, 0
            FROM claims r
            WHERE {_retracted_newest("r")}
          UNION
            SELECT s.next_id, k.depth + 1
            FROM risk k
            CROSS JOIN LATERAL ({_step("dependents", "= k.id")}
            ) s
            WHERE k.depth < {depth}
              AND NOT {hidden_draft("s.next_id")}
        )
        SELECT risk.id FROM risk WHERE risk.depth > 0
    )"""


def retracted_premises_of(claim: str, max_depth: int) -> str:
    """The rows `(retracted_id, path, depth)` of `retracted_premises` for the claim row
    `claim` of the calling statement (a constant alias): one walk towards its premises,
    each retracted claim reached with the path from `claim` to it (both included) and
    its distance. `max_depth` is a constant of the settings, never client input."""
    walk = _walk("premises", f"{claim}.id", str(int(max_depth)), str(MAX_RISK_CLAIMS))
    return f"""
WITH RECURSIVE reached AS (
    SELECT v.id, v.parent
    FROM ({walk}) w
    CROSS JOIN LATERAL unnest(w.visited, w.parents) AS v(id, parent)
),
chain(retracted_id, id, step) AS (
    SELECT c.id, c.id, 0
    FROM claims c
    WHERE c.id IN (SELECT r.id FROM reached r WHERE r.id <> {claim}.id)
      AND {_retracted_newest("c")}
  UNION ALL
    SELECT ch.retracted_id, r.parent, ch.step + 1
    FROM chain ch
    JOIN reached r ON r.id = ch.id
    WHERE r.parent IS NOT NULL
)
SELECT ch.retracted_id, array_agg(ch.id ORDER BY ch.step DESC) AS path, max(ch.step) AS depth
FROM chain ch
GROUP BY ch.retracted_id"""
