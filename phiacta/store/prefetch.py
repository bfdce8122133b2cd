"""A claim with its creator and first page of outgoing edges (and their targets), read in
one statement.

`claim(id) { createdBy { .. } outgoing(first: n) { edges { node { target { .. } } } } }`
is the most common read. Loaded field by field it takes four statements in three
sequential round trips (claim; creator and edges; targets); this reads the same rows in
one. Both branches of the UNION have the same columns: the claim's (the claim itself,
or an edge's target), the creator's (NULL on edge rows) and the edge's (NULL on the
claim's row), so every value keeps its type and no JSON is decoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from phiacta.store import Connection
from phiacta.store.claims import CLAIM_COLUMNS, ClaimRow
from phiacta.store.edges import EDGE_COLUMNS
from phiacta.store.rows import AgentRow, EdgeRow

_AGENT_COLUMNS = "a.id, a.agent_type, a.name, a.external_id, a.trust_score, a.attrs, a.created_at"
_CLAIM_WIDTH = len(ClaimRow.__dataclass_fields__)
_AGENT_WIDTH = len(AgentRow.__dataclass_fields__)

CLAIM_WITH_OUTGOING = f"""
SELECT 0 AS part, {CLAIM_COLUMNS}, {_AGENT_COLUMNS}, {EDGE_COLUMNS}
FROM claims c
LEFT JOIN agents a ON a.id = c.created_by
LEFT JOIN edges e ON FALSE
WHERE c.id = %(id)s
UNION ALL (
    SELECT 1, {CLAIM_COLUMNS}, {_AGENT_COLUMNS}, {EDGE_COLUMNS}
    FROM edges e
    JOIN claims c ON c.id = e.target_id
    LEFT JOIN agents a ON FALSE
    WHERE e.source_id = %(id)s
      AND (%(edge_types)s::text[] IS NULL OR e.edge_type = ANY(%(edge_types)s))
    ORDER BY e.created_at, e.id
    LIMIT %(limit)s
)
"""


@dataclass(frozen=True)
class ClaimWithOutgoing:
    claim: ClaimRow
    creator: AgentRow | None
    # The first `limit` outgoing edges in creation order, each with its target.
    outgoing: list[tuple[EdgeRow, ClaimRow]]


async def claim_with_outgoing(
    conn: Connection, claim_id: UUID, edge_types: Sequence[str] | None, limit: int
) -> ClaimWithOutgoing | None:
    """The claim, its creator and its first `limit` outgoing edges (only `edge_types`
    when given) with their targets; None when there is no such claim."""
    params = {
        "id": claim_id,
        "edge_types": list(edge_types) if edge_types is not None else None,
        "limit": limit,
    }
    # Binary rows: uuids and timestamps load from their 16 and 8 bytes, not from text.
    cur = await conn.execute(CLAIM_WITH_OUTGOING, params, binary=True)
    claim: ClaimRow | None = None
    creator: AgentRow | None = None
    outgoing: list[tuple[EdgeRow, ClaimRow]] = []
    agent_end = 1 + _CLAIM_WIDTH + _AGENT_WIDTH
    for row in await cur.fetchall():
        found = ClaimRow(*row[1 : 1 + _CLAIM_WIDTH])
        if row[0] == 0:
            claim = found
            if row[1 + _CLAIM_WIDTH] is not None:
                creator = AgentRow(*row[1 + _CLAIM_WIDTH : agent_end])
        else:
            outgoing.append((EdgeRow(*row[agent_end:]), found))
    if claim is None:
        return None
    # The UNION's branches come back in order in practice; sorting makes it a guarantee.
    outgoing.sort(key=lambda pair: (pair[0].created_at, pair[0].id))
    return ClaimWithOutgoing(claim=claim, creator=creator, outgoing=outgoing)
