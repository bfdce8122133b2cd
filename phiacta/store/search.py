"""Search over claims: nearest neighbours by embedding and ranked full-text matches.

Both take the same filter as the claim list (`claims.ClaimFilterSpec`). Each ranks in an
inner MATERIALIZED CTE that only touches the index columns, and reads the full rows (and,
for full text, builds the highlighted snippet) for the few winners only.

The rankings themselves (`semantic_ranking`, `fulltext_ranking`) are fragments composed
by both readers of search: the queries below, and the read planner's statement
(`store.planner_search_sql`), which ranks in its first step and builds the hits' JSON in
the same statement. One text, so both paths rank alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pgvector import Vector
from psycopg import sql
from psycopg.rows import dict_row

from phiacta.store import Connection
from phiacta.store.claims import CLAIM_COLUMNS, ClaimFilterSpec, ClaimRow, claim_filter_sql

# ---------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------

SNIPPET_OPTIONS = "StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15, MaxFragments=2"
# Reciprocal rank fusion: score = sum over lists of 1 / (RRF_K + rank). 60 is the
# constant of Cormack et al.; it damps the head of each list so neither dominates.
RRF_K = 60
# Each list contributes this many candidates (at least) to the fusion.
HYBRID_CANDIDATES = 50


@dataclass(frozen=True)
class ScoredClaim:
    claim: ClaimRow
    score: float
    snippet: str | None = None


def semantic_ranking(
    claims: str, where: sql.Composable, vector: sql.Composable, limit: sql.Composable
) -> sql.Composed:
    """The ids of the `limit` claims (alias `claims` in `where`) nearest to `vector`, with
    their cosine `distance`; unordered once materialized."""
    # The ORDER BY must be the bare distance operator for the planner to use the ANN
    # index; pgvector's iterative scan (set per connection) keeps filling the LIMIT when
    # filters reject candidates.
    return sql.SQL(
        """SELECT {c}.id, {c}.embedding <=> {vector} AS distance
    FROM claims {c}
    WHERE {c}.embedding IS NOT NULL
      AND {where}
    ORDER BY {c}.embedding <=> {vector}
    LIMIT {limit}"""
    ).format(c=sql.Identifier(claims), where=where, vector=vector, limit=limit)


def fulltext_query(text: sql.Composable) -> sql.Composed:
    """The one-row relation `(tsq)` of a query in websearch syntax: `fulltext_ranking`
    and `headline` read it as `query`."""
    return sql.SQL("SELECT websearch_to_tsquery('english', {}) AS tsq").format(text)


def fulltext_ranking(claims: str, where: sql.Composable, limit: sql.Composable) -> sql.Composed:
    """The ids of the `limit` claims (alias `claims` in `where`) best matching `query`
    (`fulltext_query`) by ts_rank, with their `rank`, best first (ties by id)."""
    return sql.SQL(
        """SELECT {c}.id, ts_rank({c}.search_tsv, query.tsq) AS rank
    FROM claims {c}, query
    WHERE {c}.search_tsv @@ query.tsq
      AND {where}
    ORDER BY rank DESC, {c}.id
    LIMIT {limit}"""
    ).format(c=sql.Identifier(claims), where=where, limit=limit)


def headline(content: sql.Composable) -> sql.Composed:
    """`content` with the words of `query` (`fulltext_query`) in <mark>."""
    return sql.SQL("ts_headline('english', {}, query.tsq, {})").format(
        content, sql.Literal(SNIPPET_OPTIONS)
    )


def _semantic_sql(where: str) -> sql.Composed:
    ranking = semantic_ranking(
        "c", sql.SQL(where), sql.Placeholder("vector"), sql.Placeholder("limit")
    )
    return sql.SQL(
        """
WITH hits AS MATERIALIZED (
    {ranking}
)
SELECT {columns}, 1 - h.distance AS score
FROM hits h
JOIN claims c ON c.id = h.id
ORDER BY h.distance, c.id
"""
    ).format(ranking=ranking, columns=sql.SQL(CLAIM_COLUMNS))


def _fulltext_sql(where: str) -> sql.Composed:
    return sql.SQL(
        """
WITH query AS (
    {query}
),
hits AS MATERIALIZED (
    {ranking}
)
SELECT {columns}, h.rank AS score, {snippet} AS snippet
FROM hits h
JOIN claims c ON c.id = h.id
CROSS JOIN query
ORDER BY h.rank DESC, c.id
"""
    ).format(
        query=fulltext_query(sql.Placeholder("text")),
        ranking=fulltext_ranking("c", sql.SQL(where), sql.Placeholder("limit")),
        columns=sql.SQL(CLAIM_COLUMNS),
        snippet=headline(sql.SQL("c.content")),
    )


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
    params |= {"text": text, "limit": limit}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_fulltext_sql(where), params)
        return [_scored(row) for row in await cur.fetchall()]
