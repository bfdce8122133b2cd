"""Compiled variable coercion (`phiacta.graphql.engine.variables`) gives exactly what
graphql-core's `get_variable_values` gives: the same values, the same sources, and for
anything that does not coerce, graphql-core's own errors."""

from __future__ import annotations

from typing import Any

import graphql.execution.executor as graphql_executor
import pytest
from graphql import (
    GraphQLError,
    GraphQLScalarType,
    OperationDefinitionNode,
    Undefined,
    build_schema,
    parse,
)
from graphql.execution import values as graphql_values
from hypothesis import given, settings
from hypothesis import strategies as st

from phiacta.graphql.engine import variables
from phiacta.graphql.schema import build_schema as build_phiacta_schema

SDL = """
enum Color { RED GREEN }
scalar Odd
input Point {
  x: Int!
  y: Int = 3
  tags: [String!] = ["a"]
  color: Color = RED
  near: Point
  many: [Point!]
  f: Float
  id: ID
  b: Boolean
  s: String
  odd: Odd
  grid: [[Int]]
}
input One @oneOf { a: Int, b: String }
type Query { f(p: Point): Int }
"""


def _odd(value: Any) -> Any:
    if value == "undefined":
        return Undefined
    if not isinstance(value, int) or value % 2 == 0:
        raise ValueError("not odd")
    return value


SCHEMA = build_schema(SDL)
odd = SCHEMA.type_map["Odd"]
assert isinstance(odd, GraphQLScalarType)
odd.coerce_input_value = _odd
odd.parse_value = _odd  # type: ignore[method-assign]

DOCUMENT = parse(
    """
    query(
      $p: Point, $ps: [Point!]!, $one: One, $n: Int!, $d: Int = 7, $l: [[Int]],
      $c: Color, $dp: Point = {x: 1, tags: ["z"]}, $odd: Odd, $maybe: String
    ) { f }
    """,
    no_location=True,
)
OPERATION = DOCUMENT.definitions[0]
assert isinstance(OPERATION, OperationDefinitionNode)
DEFINITIONS = OPERATION.variable_definitions or ()


def _outcome(result: Any) -> Any:
    """A comparable form of `get_variable_values`' result."""
    if isinstance(result, list):
        assert all(isinstance(e, GraphQLError) for e in result)
        return ("errors", [e.formatted for e in result])
    sources = {
        name: (str(s.signature.type), s.signature.default is not None, id(s.value))
        for name, s in result.sources.items()
    }
    return ("values", result.coerced, sources)


def _both(inputs: dict[str, Any]) -> tuple[Any, Any]:
    theirs = graphql_values.get_variable_values(SCHEMA, DEFINITIONS, inputs, max_errors=50)
    ours = variables.get_variable_values(SCHEMA, DEFINITIONS, inputs, max_errors=50)
    return _outcome(ours), _outcome(theirs)


def _nested(depth: int) -> dict[str, Any]:
    point: dict[str, Any] = {"x": 1}
    for _ in range(depth):
        point = {"x": 1, "near": point}
    return point


BASE = {"ps": [], "n": 1}
# Values that coerce: the compiled coercers answer these themselves.
VALID: list[dict[str, Any]] = [
    BASE,
    {**BASE, "p": None, "l": None, "c": None, "odd": None, "maybe": None},
    {**BASE, "p": {"x": 2}},
    {
        **BASE,
        "p": {
            "x": 2,
            "y": None,
            "tags": "single",
            "color": "GREEN",
            "many": [{"x": 3, "tags": ["b", "c"]}],
            "f": 2,
            "id": 12,
            "b": False,
            "s": "é",
            "odd": 5,
            "grid": [[1, None], 2, None],
        },
    },
    {**BASE, "ps": {"x": 1}},  # a single value for a list
    {**BASE, "ps": ({"x": 1},)},
    {**BASE, "l": 3},
    {**BASE, "d": None, "dp": {"x": 4}},
    {**BASE, "c": "RED", "odd": 7},
    {**BASE, "p": _nested(199)},  # the deepest graphql-core accepts
]
# Values that do not coerce, or take a way the coercers leave to graphql-core.
FALLBACKS: list[dict[str, Any]] = [
    {},
    {**BASE, "n": None},
    {**BASE, "n": "1"},
    {**BASE, "n": 2**40},
    {**BASE, "n": True},
    {**BASE, "p": {"y": 1}},
    {**BASE, "p": {"x": 1, "unknown": 1}},
    {**BASE, "p": {"x": 1, "color": "BLUE"}},
    {**BASE, "p": {"x": 1, "tags": [None]}},
    {**BASE, "p": {"x": 1, "f": float("inf")}},
    {**BASE, "p": {"x": 1, "odd": 2}},
    {**BASE, "p": {"x": 1, "odd": "undefined"}},
    {**BASE, "p": [{"x": 1}]},
    {**BASE, "p": "x"},
    {**BASE, "ps": [None]},
    {**BASE, "one": {"a": 1, "b": "x"}},
    {**BASE, "one": {"a": None}},
    {**BASE, "c": 0},
    {**BASE, "l": [[1.5]]},
    {**BASE, "ps": {1, 2}},  # an iterable other than a list
    {**BASE, "one": {"a": 1}},  # oneOf inputs
    # graphql-core refuses values nested deeper than its parser's limit.
    {**BASE, "p": _nested(200)},
    {**BASE, "p": _nested(400)},
]


def test_compiled_coercion_answers_as_graphql_core_does() -> None:
    for inputs in VALID + FALLBACKS:
        ours, theirs = _both(inputs)
        assert ours == theirs, inputs


def test_values_that_coerce_need_no_fallback() -> None:
    for inputs in VALID:
        variables._coerced_variables(SCHEMA, DEFINITIONS, inputs)
    for inputs in FALLBACKS:
        with pytest.raises(variables._GiveUp):
            variables._coerced_variables(SCHEMA, DEFINITIONS, inputs)


def test_an_omitted_field_gets_graphql_cores_shared_default() -> None:
    inputs = {**BASE, "p": {"x": 1}}
    ours = variables.get_variable_values(SCHEMA, DEFINITIONS, inputs)
    theirs = graphql_values.get_variable_values(SCHEMA, DEFINITIONS, inputs)
    assert not isinstance(ours, list) and not isinstance(theirs, list)
    assert ours.coerced["p"]["tags"] is theirs.coerced["p"]["tags"]


def test_the_executor_coerces_with_compiled_coercers() -> None:
    build_phiacta_schema()
    assert graphql_executor.get_variable_values is variables.get_variable_values  # type: ignore[attr-defined]


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=False)
    | st.sampled_from(["RED", "GREEN", "BLUE", "", "x", "undefined"])
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["x", "y", "tags", "color", "near", "many", "f", "odd", "z"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
# Mostly well-formed points, so that generated values also take the compiled way.
POINTS = st.recursive(
    st.fixed_dictionaries(
        {"x": st.integers(-5, 5)},
        optional={
            "y": st.none() | st.integers(-5, 5),
            "tags": st.none() | st.text(max_size=2) | st.lists(st.text(max_size=2), max_size=2),
            "color": st.sampled_from(["RED", "GREEN", "BLUE"]),
            "f": st.none() | st.floats(allow_nan=False) | st.integers(-5, 5),
            "odd": st.none() | st.integers(-5, 5),
            "grid": st.none() | st.lists(st.none() | st.integers(0, 3) | st.lists(SCALARS)),
            "z": SCALARS,
        },
    ),
    lambda children: st.fixed_dictionaries(
        {"x": st.integers(-5, 5)},
        optional={"near": children | JSON, "many": st.lists(children, max_size=3) | JSON},
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {"ps": st.lists(POINTS, max_size=3) | JSON, "n": st.integers(-3, 3) | JSON},
        optional={
            name: POINTS | JSON for name in ["p", "one", "d", "l", "c", "dp", "odd", "maybe"]
        },
    )
)
def test_generated_values_coerce_as_graphql_core_does(inputs: dict[str, Any]) -> None:
    ours, theirs = _both(inputs)
    assert ours == theirs


def test_an_option_it_does_not_know_goes_to_graphql_core() -> None:
    # This graphql-core knows no such option either: its own TypeError shows the call
    # reached it.
    with pytest.raises(TypeError, match="future_option"):
        variables.get_variable_values(SCHEMA, DEFINITIONS, BASE, future_option=True)
