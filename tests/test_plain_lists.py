"""Lists of plain objects completed directly answer exactly as graphql-core would."""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult

from phiacta.graphql.engine.plain_lists import PlainListsExecutor, reads_only_context


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Inner:
    id: strawberry.ID
    colour: Colour
    note: str | None


@strawberry.type
class Item:
    depth: int
    inner: Inner
    maybe: Inner | None

    @strawberry.field
    def doubled(self) -> int:
        return self.depth * 2

    @strawberry.field
    @reads_only_context
    def known(self, info: strawberry.Info) -> Inner | None:
        """Answers at once from the context when it holds the value, else later."""
        found = info.context["known"].get(self.depth)
        if found is not None or self.depth in info.context["known"]:
            return found  # type: ignore[no-any-return]

        async def later() -> Inner:
            return Inner(id=strawberry.ID(f"late{self.depth}"), colour=Colour.BLUE, note="late")

        return later()  # type: ignore[return-value]


def items(broken: bool) -> list[Item]:
    found = [
        Item(
            depth=i,
            inner=Inner(id=strawberry.ID(f"i{i}"), colour=Colour.RED, note=None),
            maybe=None,
        )
        for i in range(3)
    ]
    if broken:
        # A null where the schema says non-null, as a buggy resolver could produce.
        found[1].inner.id = None  # type: ignore[assignment]
    return found


@strawberry.type
class Query:
    @strawberry.field
    def items(self, broken: bool = False) -> list[Item]:
        return items(broken)

    @strawberry.field
    def nullable_items(self) -> list[Item | None]:
        return [*items(False), None]


def run(query: str, executor: type[Any] | None) -> ExecutionResult:
    schema = strawberry.Schema(query=Query, execution_context_class=executor)
    return schema.execute_sync(query)  # type: ignore[return-value]


KNOWN = {i: Inner(id=strawberry.ID(f"k{i}"), colour=Colour.BLUE, note=None) for i in range(3)}


async def run_with(
    query: str, executor: type[Any] | None, known: dict[int, Any]
) -> ExecutionResult:
    schema = strawberry.Schema(query=Query, execution_context_class=executor)
    return await schema.execute(query, context_value={"known": known})


QUERIES = [
    "{ items { depth inner { id colour note } maybe { id } } }",
    "{ items { __typename d: depth inner { __typename x: id y: id } } }",
    "{ items { depth ...F } } fragment F on Item { inner { ... on Inner { colour } } }",
    "{ items { depth @skip(if: true) inner @include(if: false) { id } maybe { id } } }",
    "{ items { depth doubled inner { id } } }",
    "{ nullableItems { depth inner { id } } }",
    "{ items(broken: true) { depth inner { id } } }",
    "{ items(broken: true) { depth maybe { id } } }",
]


@pytest.mark.parametrize("query", QUERIES)
def test_plain_lists_answer_as_graphql_core_does(query: str) -> None:
    plain = run(query, PlainListsExecutor)
    general = run(query, None)
    assert plain.data == general.data
    assert [e.formatted for e in plain.errors or []] == [e.formatted for e in general.errors or []]


def test_a_null_in_a_non_null_field_is_a_located_error() -> None:
    result = run("{ items(broken: true) { depth inner { id } } }", PlainListsExecutor)
    assert result.data is None
    assert result.errors is not None
    assert result.errors[0].path == ["items", 1, "inner", "id"]


def test_plain_items_skip_the_general_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    def general(*_: object) -> bool:
        raise AssertionError("completed the general way")

    monkeypatch.setattr(PlainListsExecutor, "complete_list_item_value", general)
    assert run(QUERIES[0], PlainListsExecutor).errors is None
    assert run(QUERIES[4], PlainListsExecutor).errors is not None  # `doubled` has a resolver


CONTEXT_QUERY = "{ items { depth known { id colour note } } }"


@pytest.mark.parametrize(
    "known",
    [KNOWN, {0: KNOWN[0], 1: None, 2: KNOWN[2]}, {0: KNOWN[0]}],
    ids=["all", "null", "late"],
)
async def test_context_only_resolvers_answer_as_graphql_core_does(known: dict[int, Any]) -> None:
    plain = await run_with(CONTEXT_QUERY, PlainListsExecutor, known)
    general = await run_with(CONTEXT_QUERY, None, known)
    assert plain.errors is None and general.errors is None
    assert plain.data == general.data


async def test_a_context_only_resolver_that_answers_at_once_stays_plain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def general(*_: object) -> bool:
        raise AssertionError("completed the general way")

    monkeypatch.setattr(PlainListsExecutor, "complete_list_item_value", general)
    result = await run_with(CONTEXT_QUERY, PlainListsExecutor, KNOWN)
    assert result.errors is None
    assert result.data is not None and result.data["items"][2]["known"]["id"] == "k2"
    # One value still to be loaded sends the whole list the general way.
    assert (await run_with(CONTEXT_QUERY, PlainListsExecutor, {})).errors is not None
