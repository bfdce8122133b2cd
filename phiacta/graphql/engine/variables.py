"""Variables coerced by functions made once per input type, graphql-core as the fallback.

graphql-core coerces every variable value by walking it against its type, asking at
each value what kind of type it has (non-null, list, input object, leaf) and looking
up each input object's fields and defaults. For a 500-claim submitBundle that is ~11,000
values: 6.9 ms of the request. `coercer` answers those questions once per type and
keeps a function per type that only checks and copies (2.3 ms for the same bundle).

The functions only take the way through that succeeds. On anything else (a value that
does not coerce, an unknown field, a oneOf input, a variable whose type cannot be read,
a value nested deeper than graphql-core accepts) they give up, and graphql-core's
own `get_variable_values` coerces the variables again: its errors, messages and
paths are the answer, unchanged. What they return is what graphql-core returns, down
to the shared default objects of omitted fields (a test compares the two).

`install` puts `get_variable_values` in the place graphql-core's executor calls, so
every execution of the process (queries, mutations, subscriptions) goes through it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any
from weakref import WeakKeyDictionary

import graphql.execution.executor as graphql_executor
from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    Undefined,
    VariableDefinitionNode,
)
from graphql.execution import values as graphql_values
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import (
    VariableValues,
    VariableValuesOrErrors,
    VariableValueSource,
)
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.type.definition import is_required_input_field
from graphql.utilities.coerce_input_value import coerce_default_value

# (value, depth of the value) -> coerced value; raises _GiveUp.
Coercer = Callable[[Any, int], Any]

# What graphql-core never iterates as a list (`graphql.pyutils.is_iterable`).
_NOT_LISTS = (bytearray, bytes, str, memoryview, Mapping)

_graphql_get_variable_values = graphql_values.get_variable_values
_coercers: WeakKeyDictionary[GraphQLSchema, dict[str, Coercer]] = WeakKeyDictionary()


class _GiveUp(Exception):
    """The value takes a way the coercers do not: graphql-core decides."""


def install() -> None:
    """Make graphql-core's executor coerce variables with `get_variable_values`."""
    graphql_executor.get_variable_values = get_variable_values  # type: ignore[attr-defined]


def get_variable_values(
    schema: GraphQLSchema,
    var_def_nodes: Collection[VariableDefinitionNode],
    inputs: dict[str, Any],
    max_errors: int | None = None,
    hide_suggestions: bool = False,
    **options: Any,
) -> VariableValuesOrErrors:
    """graphql-core's `get_variable_values`, the same answers, from compiled coercers.
    An option this module does not know (a later graphql-core's) goes to graphql-core."""
    if not options:
        try:
            return _coerced_variables(schema, var_def_nodes, inputs)
        except _GiveUp:
            pass
    return _graphql_get_variable_values(
        schema, var_def_nodes, inputs, max_errors, hide_suggestions, **options
    )


def _coerced_variables(
    schema: GraphQLSchema,
    var_def_nodes: Collection[VariableDefinitionNode],
    inputs: dict[str, Any],
) -> VariableValues:
    # The way through `graphql.execution.values.coerce_variable_values` without errors.
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    for node in var_def_nodes:
        signature = get_variable_signature(schema, node)
        if isinstance(signature, GraphQLError):
            raise _GiveUp
        name = signature.name
        value = inputs.get(name, Undefined)
        if value is Undefined:
            sources[name] = VariableValueSource(signature)
            if node.default_value:
                try:
                    default = coerce_default_value(signature)
                except TypeError:
                    raise _GiveUp from None
                if default is not Undefined:
                    coerced[name] = default
                continue
            if isinstance(signature.type, GraphQLNonNull):
                raise _GiveUp
            continue
        sources[name] = VariableValueSource(signature, value)
        coerced[name] = coercer(schema, signature.type)(value, 0)
    return VariableValues(sources, coerced)


def coercer(schema: GraphQLSchema, type_: GraphQLInputType) -> Coercer:
    """The coercer of `type_`, made on first use and kept with the schema."""
    known = _coercers.setdefault(schema, {})
    key = str(type_)
    if key not in known:
        known[key] = _make(type_, known)
    return known[key]


def _make(type_: GraphQLInputType, known: dict[str, Coercer]) -> Coercer:
    if isinstance(type_, GraphQLNonNull):
        return _non_null(_make(type_.of_type, known))
    if isinstance(type_, GraphQLList):
        return _list(_make(type_.of_type, known))
    if isinstance(type_, GraphQLInputObjectType):
        # Input objects may refer to themselves: the entry exists before its fields'.
        if type_.name not in known:
            _input_object(type_, known)
        return known[type_.name]
    return _leaf(type_.coerce_input_value)


def _non_null(inner: Coercer) -> Coercer:
    def coerce(value: Any, depth: int) -> Any:
        if value is None or value is Undefined:
            raise _GiveUp
        return inner(value, depth)

    return coerce


def _list(item: Coercer) -> Coercer:
    def coerce(value: Any, depth: int) -> Any:
        if value is None or value is Undefined:
            return None
        if type(value) is list or type(value) is tuple:
            # graphql-core refuses a variable whose values lie deeper than this.
            if value and depth >= MAX_NESTING_DEPTH:
                raise _GiveUp
            depth += 1
            return [item(element, depth) for element in value]
        if isinstance(value, _NOT_LISTS) or not hasattr(value, "__iter__"):
            # A single value stands for a list of one.
            if depth >= MAX_NESTING_DEPTH:
                raise _GiveUp
            return [item(value, depth + 1)]
        raise _GiveUp  # another iterable: graphql-core walks it its own way

    return coerce


def _input_object(type_: GraphQLInputObjectType, known: dict[str, Coercer]) -> None:
    fields = type_.fields
    out_type = type_.out_type
    converts = out_type is not GraphQLInputObjectType.out_type
    one_of = type_.is_one_of
    # name, key in the coerced dict, coercer, the field (for its default), required
    plan: list[tuple[str, str, Coercer, Any, bool]] = []

    def coerce(value: Any, depth: int) -> Any:
        if value is None or value is Undefined:
            return None
        if not isinstance(value, dict) or one_of:
            raise _GiveUp
        if value and depth >= MAX_NESTING_DEPTH:
            raise _GiveUp
        for name in value:
            if name not in fields:
                raise _GiveUp
        depth += 1
        result: dict[str, Any] = {}
        for name, key, field_coercer, field, required in plan:
            given = value.get(name, Undefined)
            if given is Undefined:
                if required:
                    raise _GiveUp
                default = coerce_default_value(field)
                if default is not Undefined:
                    result[key] = default
            else:
                result[key] = field_coercer(given, depth)
        return out_type(result) if converts else result

    known[type_.name] = coerce
    for name, field in fields.items():
        plan.append(
            (
                name,
                field.out_name or name,
                _make(field.type, known),
                field,
                is_required_input_field(field),
            )
        )


def _leaf(coerce_input_value: Callable[[Any], Any]) -> Coercer:
    def coerce(value: Any, depth: int) -> Any:
        if value is None or value is Undefined:
            return None
        try:
            coerced = coerce_input_value(value)
        except Exception:  # graphql-core reports it
            raise _GiveUp from None
        if coerced is Undefined:
            raise _GiveUp
        return coerced

    return coerce
