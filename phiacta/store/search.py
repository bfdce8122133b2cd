"""Search over claims: nearest neighbours by embedding and ranked full-text matches.

Both take the same filter as the claim list (`claims.ClaimFilterSpec`). Each ranks in an
inner MATERIALIZED CTE that only touches the index columns, and reads the full rows (and,
for full text, builds the highlighted snippet) for the few winners only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pgvector import Vector
from psycopg.rows import dict_row

from phiacta.store import Connection
from phiacta.store.claims import CLAIM_COLUMNS, ClaimFilterSpec, ClaimRow, claim_filter_sql

# ---------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------

SNIPPET_OPTIONS = "StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15, MaxFragments=2"


@dataclass(frozen=True)
class ScoredClaim:
    claim: ClaimRow
    score: float
    snippet: str | None = None


def _semantic_sql(where: str) -> str:
    # The ORDER BY must be the bare distance operator for the planner to use the ANN
    # index; pgvector's iterative scan (set per connection) keeps filling the LIMIT when
    # filters reject candidates.
    return f"""
WITH hits AS MATERIALIZED (
    SELECT c.id, c.embedding <=> %(vector)s AS distance
    FROM claims c
    WHERE c.embedding IS NOT NULL
      AND {where}
    ORDER BY c.embedding <=> %(vector)s
    LIMIT %(limit)s
)
SELECT {CLAIM_COLUMNS}, 1 - h.distance AS score
FROM hits h
JOIN claims c ON c.id = h.id
ORDER BY h.distance, c.id
"""


def _fulltext_sql(where: str) -> str:
    return f"""
WITH query AS (
    SELECT websearch_to_tsquery('english', %(text)s) AS tsq
),
hits AS MATERIALIZED (
    SELECT c.id, ts_rank(c.search_tsv, query.tsq) AS rank
    FROM claims c, query
    WHERE c.search_tsv @@ query.tsq
      AND {where}
    ORDER BY rank DESC, c.id
    LIMIT %(limit)s
)
SELECT {CLAIM_COLUMNS}, h.rank AS score,
       ts_headline('english', c.content, query.tsq, %(snippet_options)s) AS snippet
FROM hits h
JOIN claims c ON c.id = h.id
CROSS JOIN query
ORDER BY h.rank DESC, c.id
"""


def _scored(row: dict[str, Any]) -> ScoredClaim:
    score = float(row.pop("score"))
    snippet = row.pop("snippet", None)
    return ScoredClaim(claim=ClaimRow(**row), score=score, snippet=snippet)


async def semantic_search(
    conn: Connection, vector: Sequence[float], spec: ClaimFilterSpec, *, limit: int
) -> list[ScoredClaim]:
    """The `limit` claims nearest to `vector` by cosine distance; score = similarity."""
    where, params = claim_filter_sql(spec)
    params |= {"vector": Vector(list(vector)), "limit": limit}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_semantic_sql(where), params)
        return [_scored(row) for row in await cur.fetchall()]


async def fulltext_search(
    conn: Connection, text: str, spec: ClaimFilterSpec, *, limit: int
) -> list[ScoredClaim]:
    """Claims matching `text` in websearch syntax, by ts_rank, with a highlighted snippet."""
    where, params = claim_filter_sql(spec)
    params |= {"text": text, "limit": limit, "snippet_options": SNIPPET_OPTIONS}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_fulltext_sql(where), params)
        return [_scored(row) for row in await cur.fetchall()]
