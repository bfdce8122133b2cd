"""The read planner's `search`: its ranking as the first step of the query's statement.

`search_field` plans `search(query, mode, first, filter, after)` with `mode`, `hits`
(`rank score similarity snippet rankings { mode rank score }` and a `claim` with
whatever the planner plans for a Claim), `endCursor` and `hasNextPage`; the SQL is
`store.planner_search_sql`'s. Its binder checks the arguments as the resolver
(`graphql.fields.search`) does and leaves to it, by `NotCovered`, every request it would
refuse (an empty or too long query, a bad `first` or cursor, a page past the search
depth, a filter the plan does not answer), so errors keep their codes and paths.

A SEMANTIC or HYBRID query needs its vector before the statement runs: the binder
leaves a `QueryText` in its place, and `embed_queries` (awaited by `planner.answer`)
embeds it with the request's embedder, as the resolver does; without an embedder the
executor answers (and reports that semantic search is unavailable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, GraphQLField
from graphql.execution.values import VariableValues, get_argument_values
from pgvector import Vector

from phiacta.graphql.engine import planner as plans
from phiacta.graphql.fields.search import (
    MAX_SEARCH_DEPTH,
    SEARCH_CURSOR,
    SearchMode,
    search_window,
)
from phiacta.store.read_plan import (
    Constant,
    Related,
    Search,
    SearchField,
    SearchHits,
    SearchRankings,
)
from phiacta.store.search import HYBRID_CANDIDATES

RESULT_FIELDS = frozenset({"mode", "endCursor", "hasNextPage"})
HIT_FIELDS = frozenset({"rank", "score", "similarity", "snippet"})
RANKING_FIELDS = frozenset({"mode", "rank", "score"})
SEARCH_ROLES = ("vector", "text", "limit", "offset", "size")
# The claim list's roles that are its filter's (the others page it).
PAGE_ROLES = frozenset({"first", "after_at", "after_id", "descending"})


@dataclass(frozen=True)
class QueryText:
    """A search query to embed before the statement runs (`embed_queries`)."""

    text: str


def search_field(
    planner: plans._Planner, key: str, node: FieldNode, definition: GraphQLField
) -> Search:
    """The plan of a root `search` field, its binder added to the planner's."""
    filter_roles = [role for role in plans._CLAIMS_ROLES if role not in PAGE_ROLES]
    roles = {role: planner.param() for role in (*SEARCH_ROLES, *filter_roles)}
    prefix = planner.param()

    def bind(variables: VariableValues) -> plans.Params:
        args = get_argument_values(definition, node, variables)
        params = {roles[role]: value for role, value in _search_values(args).items()}
        filter = args.get("filter")
        return params | (plans._filter_params(filter, prefix) if filter is not None else {})

    planner.binders.append(bind)
    parts: list[SearchField | SearchHits | Constant] = []
    for field in planner.selections(node.selection_set):
        part_key = (field.alias or field.name).value
        name = field.name.value
        if name == "__typename":
            parts.append(Constant(part_key, "SearchResult"))
        elif name in RESULT_FIELDS:
            parts.append(SearchField(part_key, name))
        elif name == "hits":
            parts.append(SearchHits(part_key, _hit_parts(planner, field)))
        else:
            raise plans.NotCovered(f"SearchResult.{name}")
    return Search(
        key,
        tuple(parts),
        tuple(sorted(roles.items())),
        cursor_kind=SEARCH_CURSOR,
        max_depth=MAX_SEARCH_DEPTH,
        filter=prefix,
    )


def _hit_parts(
    planner: plans._Planner, node: FieldNode
) -> tuple[SearchField | SearchRankings | Related | Constant, ...]:
    parts: list[SearchField | SearchRankings | Related | Constant] = []
    for field in planner.selections(node.selection_set):
        key = (field.alias or field.name).value
        name = field.name.value
        if name == "__typename":
            parts.append(Constant(key, "SearchHit"))
        elif name in HIT_FIELDS:
            parts.append(SearchField(key, name))
        elif name == "claim":
            parts.append(Related(key, "search.claim", planner.node("Claim", field)))
        elif name == "rankings":
            parts.append(SearchRankings(key, _ranking_parts(planner, field)))
        else:
            raise plans.NotCovered(f"SearchHit.{name}")
    return tuple(parts)


def _ranking_parts(planner: plans._Planner, node: FieldNode) -> tuple[SearchField | Constant, ...]:
    parts: list[SearchField | Constant] = []
    for field in planner.selections(node.selection_set):
        key = (field.alias or field.name).value
        name = field.name.value
        if name == "__typename":
            parts.append(Constant(key, "SearchRanking"))
        elif name in RANKING_FIELDS:
            parts.append(SearchField(key, name))
        else:
            raise plans.NotCovered(f"SearchRanking.{name}")
    return tuple(parts)


def _search_values(args: dict[str, Any]) -> plans.Params:
    """A search's parameters by role, from its arguments as the resolver reads them."""
    query: str = args["query"]
    offset, size, problems = search_window(query, args.get("first"), args.get("after"))
    if problems or offset + size > MAX_SEARCH_DEPTH:
        raise plans.NotCovered("search arguments the resolver refuses")
    values = plans._claims_scope(args.get("filter"))
    wanted = offset + size + 1
    mode = args["mode"]
    if mode is None:  # an explicit null: the resolver's answer is a null `mode` error
        raise plans.NotCovered("mode: null")
    values |= {"offset": offset, "size": size, "limit": wanted}
    if mode is SearchMode.SEMANTIC:
        values["vector"] = QueryText(query)
    elif mode is SearchMode.FULLTEXT:
        values["text"] = query
    else:
        values |= {"vector": QueryText(query), "text": query}
        values["limit"] = max(wanted, HYBRID_CANDIDATES)
    return values


async def embed_queries(params: plans.Params, context: Any) -> plans.Params:
    """`params` with each `QueryText` replaced by its vector, embedded by the request's
    embedder; NotCovered when there is none (the resolver reports it)."""
    pending = {name: value for name, value in params.items() if isinstance(value, QueryText)}
    if not pending:
        return params
    embedder = context.services.embedder
    if embedder is None:
        raise plans.NotCovered("no embedding provider")
    embedded = dict(params)
    for name, value in pending.items():
        embedded[name] = Vector(list(await embedder.embed_one(value.text)))
    return embedded
