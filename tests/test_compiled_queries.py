"""Queries run from a plan answer exactly as graphql-core's general execution does.

The executor is tested here on a small schema of its own, where every case (awaitable
resolvers, DataLoader batching, arguments from variables, errors, nulls) can be made
on purpose; tests/test_compiled_http.py compares the two over HTTP on Phiacta's schema.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Sequence
from typing import Any

import pytest
import strawberry
from strawberry.dataloader import DataLoader

from phiacta.config import load_settings
from phiacta.graphql.engine import compiled
from phiacta.graphql.engine.limits import CACHEABLE_DOCUMENT_CHARS
from phiacta.graphql.engine.operations import PreparedOperations
from phiacta.graphql.engine.plain_lists import reads_only_context


@strawberry.type
class Friend:
    name: str


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Person(Named):
    age: int


@strawberry.type
class Item:
    id: strawberry.ID
    depth: int
    tags: list[str]
    grid: list[list[int | None]]
    note: str | None = None

    @strawberry.field
    def scaled(self, factor: int = 2) -> int:
        return self.depth * factor

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return f"later {self.depth}"

    @strawberry.field
    async def friend(self, info: strawberry.Info) -> Friend | None:
        loader: DataLoader[int, Friend | None] = info.context["friends"]
        return await loader.load(self.depth)

    @strawberry.field
    @reads_only_context
    def known(self, info: strawberry.Info) -> Friend | None:
        return info.context["known"].get(self.depth)  # type: ignore[no-any-return]

    @strawberry.field
    def path(self, info: strawberry.Info) -> str:
        return ".".join(str(key) for key in info.path.as_list())

    @strawberry.field
    def failing(self) -> str | None:
        if self.depth == 1:
            raise ValueError("item 1 fails")
        return "fine"

    @strawberry.field
    def broken(self) -> str:
        return None if self.depth == 2 else "whole"  # type: ignore[return-value]


def make_items(count: int) -> list[Item]:
    return [
        Item(
            id=strawberry.ID(f"i{depth}"),
            depth=depth,
            tags=[f"t{depth}", "x"],
            grid=[[depth, None], []],
        )
        for depth in range(count)
    ]


@strawberry.type
class Query:
    @strawberry.field
    def items(self, count: int = 3) -> list[Item]:
        return make_items(count)

    @strawberry.field
    async def item(self, id: strawberry.ID) -> Item | None:
        return next((item for item in make_items(3) if item.id == id), None)

    @strawberry.field
    def person(self) -> Named:
        return Person(name="ada", age=36)

    @strawberry.field
    async def slow_failure(self) -> int | None:
        """Fails after its work, as a statement timeout does."""
        CALLS.append("slow_failure")
        await asyncio.sleep(0)
        raise TimeoutError("canceling statement due to statement timeout")

    @strawberry.field
    def failure(self) -> int:
        CALLS.append("failure")
        raise ValueError("fails at once")


CALLS: list[str] = []


SCHEMA = strawberry.Schema(query=Query)


async def load_friends(keys: Sequence[int]) -> list[Friend | None]:
    BATCHES.append(list(keys))
    return [Friend(name=f"friend {key}") if key % 2 == 0 else None for key in keys]


BATCHES: list[list[int]] = []


def operations(planned: bool) -> PreparedOperations:
    settings = load_settings(_env_file=None, graphql_compiled_queries=planned)
    return PreparedOperations(SCHEMA, settings)


async def answer(
    ops: PreparedOperations, query: str, variables: dict[str, Any] | None = None
) -> tuple[Any, list[dict[str, Any]], list[list[int]]]:
    BATCHES.clear()
    context = {"friends": DataLoader(load_fn=load_friends), "known": {0: Friend(name="k0")}}
    prepared = ops.prepare(query, None)
    result = await ops.run_prepared(prepared, context, variables, None, "req")
    errors = [error.formatted for error in result.errors or ()]
    return result.data, errors, list(BATCHES)


QUERIES: list[tuple[str, dict[str, Any] | None]] = [
    ("{ items { id depth tags grid note __typename } }", None),
    ("{ a: items(count: 2) { x: id y: id } b: items { depth } }", None),
    ("query ($n: Int!) { items(count: $n) { scaled s3: scaled(factor: 3) } }", {"n": 4}),
    ("query ($f: Int) { items { scaled(factor: $f) } }", {}),
    ("{ items { later friend { name } known { name } } }", None),
    ("{ items { ...F } } fragment F on Item { depth ... on Item { friend { name } } }", None),
    ("{ items { friend { name } f2: friend { __typename } } }", None),
    ("{ items { path } }", None),
    ('{ item(id: "i1") { id later } none: item(id: "zz") { id } }', None),
    ("query ($id: ID!) { item(id: $id) { depth friend { name } } }", {"id": "i2"}),
]


@pytest.mark.parametrize(("query", "variables"), QUERIES)
async def test_a_planned_query_answers_as_graphql_core_does(
    query: str, variables: dict[str, Any] | None
) -> None:
    planned_ops, general_ops = operations(True), operations(False)
    planned = await answer(planned_ops, query, variables)
    general = await answer(general_ops, query, variables)
    assert planned == general
    assert planned[1] == []
    # The plan answered: it was made, and never fell back.
    plan = planned_ops.prepare(query, None).plans[0]
    assert plan is not None and plan.answered == 1 and plan.fell_back == 0


FALLBACKS: list[tuple[str, dict[str, Any] | None]] = [
    # A resolver raising in one list item: a located error, the rest answered.
    ("{ items { depth failing } }", None),
    # A null where the type says non-null: the error propagates to the nullable parent.
    ("{ items { depth broken } }", None),
    # Variables that do not coerce.
    ("query ($n: Int!) { items(count: $n) { depth } }", {"n": "three"}),
    ("query ($n: Int!) { items(count: $n) { depth } }", {}),
]


@pytest.mark.parametrize(("query", "variables"), FALLBACKS)
async def test_an_error_sends_the_query_to_graphql_core(
    query: str, variables: dict[str, Any] | None
) -> None:
    planned = await answer(operations(True), query, variables)
    general = await answer(operations(False), query, variables)
    assert planned == general
    assert planned[1] != []


@pytest.mark.parametrize(
    "query",
    [
        "{ items { depth @include(if: true) } }",
        "{ person { name ... on Person { age } } }",
        "{ __schema { queryType { name } } }",
    ],
)
async def test_documents_a_plan_does_not_cover_keep_graphql_core(query: str) -> None:
    ops = operations(True)
    planned = await answer(ops, query)
    assert planned == await answer(operations(False), query)
    assert ops.prepare(query, None).plans == [None]


async def test_dataloaders_batch_as_under_graphql_core() -> None:
    query = "{ items(count: 6) { friend { name } } }"
    _, _, batches = await answer(operations(True), query)
    assert batches == [[0, 1, 2, 3, 4, 5]]


async def test_a_plan_that_keeps_falling_back_is_dropped() -> None:
    ops = operations(True)
    query = "{ items { failing } }"
    for _ in range(compiled.MAX_FALLBACK_EXCESS + 1):
        await answer(ops, query)
    assert ops.prepare(query, None).plans == [None]
    data, errors, _ = await answer(ops, query)
    assert data == {"items": [{"failing": "fine"}, {"failing": None}, {"failing": "fine"}]}
    assert [error["path"] for error in errors] == [["items", 1, "failing"]]


async def test_mutations_are_never_planned() -> None:
    @strawberry.type
    class Mutation:
        @strawberry.mutation
        def touch(self) -> int:
            return 1

    ops = PreparedOperations(
        strawberry.Schema(query=Query, mutation=Mutation),
        load_settings(_env_file=None, graphql_compiled_queries=True),
    )
    prepared = ops.prepare("mutation { touch }", None)
    result = await ops.run_prepared(prepared, {}, None, None, "req")
    assert result.data == {"touch": 1}
    assert prepared.plans == [None]


async def test_documents_too_large_to_keep_are_not_planned() -> None:
    ops = operations(True)
    query = "{ items { depth } }\n# " + "x" * CACHEABLE_DOCUMENT_CHARS
    data, errors, _ = await answer(ops, query)
    assert data == {"items": [{"depth": 0}, {"depth": 1}, {"depth": 2}]} and errors == []
    assert ops.prepare(query, None).plans == [None]


@pytest.mark.parametrize(
    "query", ["{ slowFailure items(count: 1) { depth } }", "{ items(count: 1) { depth } failure }"]
)
async def test_a_failed_resolver_is_not_called_again_by_the_fallback(query: str) -> None:
    general = await answer(operations(False), query)
    CALLS.clear()
    ops = operations(True)
    planned = await answer(ops, query)
    assert planned == general and planned[1] != []
    # graphql-core answered (the plan fell back) with the failure the plan's run met.
    assert len(CALLS) == 1
    plan = ops.prepare(query, None).plans[0]
    assert plan is not None and plan.fell_back == 1


async def test_coroutines_made_before_a_failure_are_settled() -> None:
    """`item` answers later; `failure` then raises at once. The plan's run stops, and the
    coroutine it made for `item` is run to its end, not dropped unawaited."""
    query = '{ item(id: "i1") { later } failure }'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        planned = await answer(operations(True), query)
        for _ in range(5):
            await asyncio.sleep(0)
        gc.collect()
    assert planned == await answer(operations(False), query)
    assert not [w for w in caught if "never awaited" in str(w.message)]
    assert not compiled._SETTLING
