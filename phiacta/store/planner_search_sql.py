"""The SQL of a planned `search`: the ranking as the statement's first step, then the
page of hits with their claims' JSON, in the same statement.

`search_json` is the value of a `Search` (`store.read_plan`) inside the statement of
`planner_sql`: a subquery whose WITH ranks with `store.search`'s own fragments (the
executor's queries compose the same text), the filter's conditions being those of the
planner's claim list (on alias `x`). The roles present decide the mode: `vector` alone
is SEMANTIC, `text` alone FULLTEXT, both HYBRID. For
`search(query: $q, mode: FULLTEXT, first: 2) { hits { rank claim { content } } }`:

    (WITH query AS (SELECT websearch_to_tsquery('english', %(p2)s::text) AS tsq),
      fulltext AS MATERIALIZED (SELECT "x".id, ts_rank("x".search_tsv, query.tsq) AS rank
        FROM claims "x", query WHERE "x".search_tsv @@ query.tsq AND <filter>
        ORDER BY rank DESC, "x".id LIMIT %(p3)s::int),
      ft AS (SELECT id, rank AS score, row_number() OVER (ORDER BY rank DESC, id) AS r
        FROM fulltext),
      hits AS (SELECT f.id, f.r AS n, f.score, ... FROM ft f)
    SELECT json_build_object('hits', (SELECT coalesce(json_agg(json_build_object(
        'rank', h.n, 'claim', json_build_object('content', "t1"."content"))
        ORDER BY h.n), '[]'::json)
      FROM hits h JOIN claims "t1" ON "t1".id = h.id CROSS JOIN query
      WHERE h.n > %(p4)s::int AND h.n <= %(p4)s::int + %(p5)s::int))
    FROM (SELECT ... count(*) AS total FROM hits) counted)

Exactly the resolver's semantics (`graphql.fields.search`): ranks by (distance, id) and
by (ts_rank descending, id); reciprocal rank fusion summed in the resolver's order
(semantic, then full text) in double precision, ties by id; scores keep their types
(ts_rank is a `real`, written as PostgreSQL writes it, as the executor's float reads
it); the end cursor is `encode_cursor(kind, [end])`.
"""

from __future__ import annotations

from typing import Protocol

from psycopg import sql

from phiacta.store.read_plan import (
    Constant,
    Related,
    Search,
    SearchField,
    SearchHits,
    SearchRankings,
    Selection,
)
from phiacta.store.search import (
    RRF_K,
    fulltext_query,
    fulltext_ranking,
    headline,
    semantic_ranking,
)


class Builder(Protocol):
    """What a search asks of `planner_sql`'s statement builder: fresh aliases and a
    claim's JSON object on a row."""

    def alias(self) -> sql.Identifier: ...

    def object_json(
        self, fields: tuple[Selection, ...], row: sql.Identifier | None, table: str = ""
    ) -> sql.Composed: ...


# The hits of each mode, one row per claim: `n` its place, `score`, `similarity`, and
# its place and score in each ranking (NULL where that ranking did not find it).
SEMANTIC_HITS = sql.SQL(
    "SELECT s.id, s.r AS n, s.score, s.score AS similarity, s.r AS sem_r, "
    "s.score AS sem_score, NULL::bigint AS ft_r, NULL::real AS ft_score FROM sem s"
)
FULLTEXT_HITS = sql.SQL(
    "SELECT f.id, f.r AS n, f.score, NULL::float8 AS similarity, NULL::bigint AS sem_r, "
    "NULL::float8 AS sem_score, f.r AS ft_r, f.score AS ft_score FROM ft f"
)
# Reciprocal rank fusion as the resolver adds it: 0.0, plus the semantic term, plus the
# full-text term, each 1.0 / (RRF_K + rank) in double precision.
FUSED_SCORE = sql.SQL(
    "(coalesce(1::float8 / ({k} + s.r), 0) + coalesce(1::float8 / ({k} + f.r), 0))"
).format(k=sql.Literal(RRF_K))
HYBRID_HITS = sql.SQL(
    "SELECT coalesce(s.id, f.id) AS id, "
    "row_number() OVER (ORDER BY {score} DESC, coalesce(s.id, f.id)) AS n, "
    "{score} AS score, s.score AS similarity, s.r AS sem_r, s.score AS sem_score, "
    "f.r AS ft_r, f.score AS ft_score FROM sem s FULL JOIN ft f ON f.id = s.id"
).format(score=FUSED_SCORE)

# Each ranking in its order, numbered from 1; uuid order is the order of its text.
SEMANTIC_RANKED = sql.SQL(
    "SELECT id, 1 - distance AS score, row_number() OVER (ORDER BY distance, id) AS r FROM semantic"
)
FULLTEXT_RANKED = sql.SQL(
    "SELECT id, rank AS score, row_number() OVER (ORDER BY rank DESC, id) AS r FROM fulltext"
)


def search_json(
    builder: Builder, field: Search, where: sql.Composable, present: frozenset[str]
) -> sql.Composed:
    """The JSON object of `field`, as a subquery. `where` is the claim filter's
    conditions on alias `x`; `present`, the statement's present parameters."""
    names = dict(field.roles)
    params = {role: sql.Placeholder(name) for role, name in field.roles}
    semantic = names["vector"] in present
    fulltext = names["text"] in present
    limit = sql.SQL("{}::int").format(params["limit"])
    steps: list[sql.Composable] = []
    if semantic:
        vector = sql.SQL("{}::vector").format(params["vector"])
        ranking = semantic_ranking("x", where, vector, limit)
        steps.append(sql.SQL("semantic AS MATERIALIZED ({})").format(ranking))
        steps.append(sql.SQL("sem AS ({})").format(SEMANTIC_RANKED))
    if fulltext:
        text = sql.SQL("{}::text").format(params["text"])
        steps.append(sql.SQL("query AS ({})").format(fulltext_query(text)))
        ranking = fulltext_ranking("x", where, limit)
        steps.append(sql.SQL("fulltext AS MATERIALIZED ({})").format(ranking))
        steps.append(sql.SQL("ft AS ({})").format(FULLTEXT_RANKED))
    hits = HYBRID_HITS if semantic and fulltext else SEMANTIC_HITS if semantic else FULLTEXT_HITS
    steps.append(sql.SQL("hits AS ({})").format(hits))
    mode = "HYBRID" if semantic and fulltext else "SEMANTIC" if semantic else "FULLTEXT"
    page = _Page(
        offset=sql.SQL("{}::int").format(params["offset"]),
        size=sql.SQL("{}::int").format(params["size"]),
        mode=mode,
        kind=field.cursor_kind,
        max_depth=field.max_depth,
    )
    pairs: list[sql.Composable] = []
    for part in field.parts:
        pairs += [sql.Literal(part.key), _result_part(builder, part, page)]
    # `stop`: where this page ends, as the resolver's `offset + len(hits)`.
    counted = sql.SQL(
        "SELECT least({offset} + {size}, greatest(count(*), {offset})) AS stop, "
        "count(*) AS total FROM hits"
    ).format(offset=page.offset, size=page.size)
    return sql.SQL("(WITH {} SELECT json_build_object({}) FROM ({}) counted)").format(
        sql.SQL(", ").join(steps), sql.SQL(", ").join(pairs), counted
    )


class _Page:
    def __init__(
        self, offset: sql.Composable, size: sql.Composable, mode: str, kind: str, max_depth: int
    ) -> None:
        self.offset = offset
        self.size = size
        self.mode = mode
        self.kind = kind
        self.max_depth = max_depth

    def end_cursor(self) -> sql.Composed:
        """`encode_cursor(kind, [stop])`, null for an empty page."""
        return sql.SQL(
            "CASE WHEN counted.stop > {offset} THEN rtrim(translate(encode(convert_to("
            "'[\"' || {kind} || '\",' || counted.stop || ']', 'UTF8'), 'base64'), "
            "E'+/\\n', '-_'), '=') END"
        ).format(offset=self.offset, kind=sql.Literal(self.kind))


def _result_part(
    builder: Builder, part: SearchField | SearchHits | Constant, page: _Page
) -> sql.Composable:
    if isinstance(part, Constant):
        return sql.Literal(part.value)
    if isinstance(part, SearchHits):
        return _hits(builder, part, page)
    if part.which == "mode":
        return sql.Literal(page.mode)
    if part.which == "endCursor":
        return page.end_cursor()
    assert part.which == "hasNextPage"
    return sql.SQL("counted.total > counted.stop AND counted.stop < {}").format(
        sql.Literal(page.max_depth)
    )


def _hits(builder: Builder, hits: SearchHits, page: _Page) -> sql.Composed:
    row = builder.alias()
    pairs: list[sql.Composable] = []
    for part in hits.parts:
        pairs.append(sql.Literal(part.key))
        if isinstance(part, Constant):
            pairs.append(sql.Literal(part.value))
        elif isinstance(part, Related):
            pairs.append(builder.object_json(part.node.fields, row, "claims"))
        elif isinstance(part, SearchRankings):
            pairs.append(_rankings(part))
        else:
            pairs.append(_hit_value(part.which, row, page))
    # The query's tsq for the snippets, when full text ranked.
    query = sql.SQL(" CROSS JOIN query") if page.mode != "SEMANTIC" else sql.SQL("")
    return sql.SQL(
        "(SELECT coalesce(json_agg(json_build_object({pairs}) ORDER BY h.n), '[]'::json) "
        "FROM hits h JOIN claims {row} ON {row}.id = h.id{query} "
        "WHERE h.n > {offset} AND h.n <= {offset} + {size})"
    ).format(
        pairs=sql.SQL(", ").join(pairs),
        row=row,
        query=query,
        offset=page.offset,
        size=page.size,
    )


def _hit_value(which: str, row: sql.Identifier, page: _Page) -> sql.Composable:
    if which == "rank":
        return sql.SQL("h.n")
    if which == "score":
        return sql.SQL("h.score")
    if which == "similarity":
        return sql.SQL("h.similarity")
    assert which == "snippet"
    if page.mode == "SEMANTIC":
        return sql.SQL("NULL::text")
    content = sql.SQL("{}.content").format(row)
    return sql.SQL("CASE WHEN h.ft_r IS NOT NULL THEN {} END").format(headline(content))


# Each ranking's mode and its columns in `hits`: its place and its score.
RANKINGS = (("SEMANTIC", "sem_r", "sem_score"), ("FULLTEXT", "ft_r", "ft_score"))


def _rankings(rankings: SearchRankings) -> sql.Composed:
    """The hit's rankings, semantic first, as the resolver lists them."""
    entries: list[sql.Composable] = []
    for mode, place, score in RANKINGS:
        pairs: list[sql.Composable] = []
        for part in rankings.parts:
            pairs.append(sql.Literal(part.key))
            if isinstance(part, Constant):
                pairs.append(sql.Literal(part.value))
            elif part.which == "mode":
                pairs.append(sql.Literal(mode))
            else:
                column = place if part.which == "rank" else score
                pairs.append(sql.SQL("h.{}").format(sql.Identifier(column)))
        entries.append(
            sql.SQL("({}, CASE WHEN h.{} IS NOT NULL THEN json_build_object({}) END)").format(
                sql.Literal(len(entries)), sql.Identifier(place), sql.SQL(", ").join(pairs)
            )
        )
    return sql.SQL(
        "(SELECT coalesce(json_agg(r.ranking ORDER BY r.k), '[]'::json) "
        "FROM (VALUES {}) r(k, ranking) WHERE r.ranking IS NOT NULL)"
    ).format(sql.SQL(", ").join(entries))
