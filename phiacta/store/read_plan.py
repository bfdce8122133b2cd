"""A read plan: what a query selects, as a tree of plain data, before any SQL exists.

`phiacta.graphql.engine.planner` builds one per query document; `planner_sql` turns it
into one statement. A plan names tables, columns, relations and pages, never SQL text,
so it can be printed and compared in a test without a database:

    Node("claims", (Column("id", "id"), Related("createdBy", "claim.created_by",
        Node("agents", (Column("name", "name"),)))))

Values a request supplies (an id, a page size, a cursor's keyset, a filter) are named
parameters: a node lists the role each parameter plays (`("first", "p1")`), the request
binds the names to values, and a parameter bound to None or False leaves its condition
out of the statement (see `planner_sql.statement`).
"""

from __future__ import annotations

from dataclasses import dataclass

from phiacta.config import DEFAULT_MAX_TRAVERSAL_DEPTH

Roles = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Column:
    """A key of the JSON object read from a column of the row in scope (or one of the
    computed columns of `planner_sql.COMPUTED`); `enum` upper-cases it to the GraphQL
    enum's name, `time` writes a timestamp as Python's `isoformat` does."""

    key: str
    column: str
    enum: bool = False
    time: bool = False


@dataclass(frozen=True)
class Constant:
    """A key whose value the document alone decides (`__typename`)."""

    key: str
    value: str


@dataclass(frozen=True)
class Node:
    """One JSON object per row of `table`, with `fields` in the document's order."""

    table: str
    fields: tuple[Selection, ...]


@dataclass(frozen=True)
class Related:
    """At most one row reached by `via` (a relation of `planner_sql.RELATIONS`); null
    when there is none."""

    key: str
    via: str
    node: Node
    roles: Roles = ()


@dataclass(frozen=True)
class RowList:
    """Every row reached by `via` (a list of `planner_sql.LISTS`), in its fixed order;
    a list whose length the request decides takes it as the parameter of role `limit`."""

    key: str
    via: str
    node: Node
    roles: Roles = ()


@dataclass(frozen=True)
class RelatedList:
    """For each element of the list parameter of role `ids`, in its order, the row
    reached by `via` (a relation of `planner_sql.RELATIONS` from the element's `id`), or
    null when there is none."""

    key: str
    via: str
    node: Node
    roles: Roles = ()


@dataclass(frozen=True)
class Cursor:
    key: str


@dataclass(frozen=True)
class PageEdges:
    """`edges { cursor node {...} }` of a connection."""

    key: str
    parts: tuple[Cursor | Related | Constant, ...]


@dataclass(frozen=True)
class PageInfoField:
    """One of hasNextPage, hasPreviousPage, startCursor, endCursor."""

    key: str
    which: str


@dataclass(frozen=True)
class PageInfo:
    key: str
    parts: tuple[PageInfoField | Constant, ...]


@dataclass(frozen=True)
class TotalCount:
    key: str


@dataclass(frozen=True)
class Page:
    """A Relay connection over the keyset-ordered list `via` (`planner_sql.PAGES`):
    `first` rows after a `(created_at, id)` keyset, counted whole for totalCount.
    `node` (in `parts`, a `Related` with via "page.node") is each row's object."""

    key: str
    via: str
    # The cursors' kind when read in ascending and in descending order.
    cursor_kinds: tuple[str, str]
    parts: tuple[PageEdges | PageInfo | TotalCount | Constant, ...]
    roles: Roles = ()
    # A claim list's filter: the prefix its parameters are named under, nested filters
    # (`or`, `not`) included (`planner_sql.filter_param`); which are present decides
    # the conditions, so a filter's shape is the request's, not the plan's.
    filter: str | None = None


@dataclass(frozen=True)
class SearchField:
    """A value of a search's result, hit or ranking: `which` is its GraphQL field
    (`mode`, `endCursor`, `hasNextPage`; `rank`, `score`, `similarity`, `snippet`)."""

    key: str
    which: str


@dataclass(frozen=True)
class SearchRankings:
    """A hit's `rankings { mode rank score }`, one per ranking that found it."""

    key: str
    parts: tuple[SearchField | Constant, ...]


@dataclass(frozen=True)
class SearchHits:
    """`hits { ... }` of a search; the hit's claim is a `Related` with via "search.claim"."""

    key: str
    parts: tuple[SearchField | SearchRankings | Related | Constant, ...]


@dataclass(frozen=True)
class Search:
    """A search over claims (`planner_search_sql`): ranked first, by the roles present
    (`vector`: semantic, `text`: full text, both: fused), filtered by the claim filter's
    roles, then a page of hits from `offset`, `size` long."""

    key: str
    parts: tuple[SearchField | SearchHits | Constant, ...]
    roles: Roles
    cursor_kind: str
    # How deep `after` pages through the ranking (the last page has no next one).
    max_depth: int
    # The claim filter's prefix, as a claim list's (`Page.filter`).
    filter: str | None = None


@dataclass(frozen=True)
class TraversalField:
    """A value of a traversal (`truncated`) or of one of its nodes (`depth`,
    `reachedFrom`)."""

    key: str
    which: str


@dataclass(frozen=True)
class TraversalNodes:
    """`nodes { ... }` of a traversal: the start, then each reached claim; its `claim`
    is a `Related` with via "traverse.claim", its `via` one with via "traverse.via"."""

    key: str
    parts: tuple[TraversalField | Related | Constant, ...]


@dataclass(frozen=True)
class TraversalEdges:
    """`edges { ... }` of a traversal: the edge that reached each claim, in order."""

    key: str
    node: Node


@dataclass(frozen=True)
class Traverse:
    """A walk from the claim of role `start` (`planner_traversal_sql`): its steps those
    of `store.traversal`, by the roles present (`forward`, `backward`: the direction;
    `include_retracted`), at most `max_depth` levels and `limit` claims. Its `start` is
    a `Related` with via "traverse.start"."""

    key: str
    parts: tuple[TraversalField | TraversalNodes | TraversalEdges | Related | Constant, ...]
    roles: Roles


Selection = Column | Constant | Related | RelatedList | RowList | Page | Search | Traverse


@dataclass(frozen=True)
class ReadPlan:
    """The `data` object of a query: its root fields, each with its parameters."""

    fields: tuple[Selection, ...]
    # How many dependency steps make a claim at risk (settings.max_traversal_depth).
    risk_depth: int = DEFAULT_MAX_TRAVERSAL_DEPTH

    def params(self) -> frozenset[str]:
        """Every parameter name the plan's roles use (a claim filter's are named under
        its prefix, `Page.filter`)."""
        return frozenset(name for role, name in _roles(self.fields))


def _roles(fields: tuple[Selection, ...]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for field in fields:
        if isinstance(field, Related | RelatedList | RowList):
            found += field.roles
            found += _roles(field.node.fields)
        elif isinstance(field, Page):
            found += field.roles
            for part in field.parts:
                if isinstance(part, PageEdges):
                    for edge_part in part.parts:
                        if isinstance(edge_part, Related):
                            found += _roles((edge_part,))
        elif isinstance(field, Search):
            found += field.roles
            for result_part in field.parts:
                if isinstance(result_part, SearchHits):
                    claims = tuple(p for p in result_part.parts if isinstance(p, Related))
                    found += _roles(claims)
        elif isinstance(field, Traverse):
            found += field.roles
            for traverse_part in field.parts:
                if isinstance(traverse_part, Related):
                    found += _roles((traverse_part,))
                elif isinstance(traverse_part, TraversalEdges):
                    found += _roles(traverse_part.node.fields)
                elif isinstance(traverse_part, TraversalNodes):
                    related = tuple(p for p in traverse_part.parts if isinstance(p, Related))
                    found += _roles(related)
    return found
