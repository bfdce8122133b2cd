"""Completing lists of plain objects without graphql-core's per-field machinery.

graphql-core completes every field of every list item the general way: a resolve-info
object, argument handling, an awaitable check and a response path per field. For a
`traverse` of 1000 nodes (`nodes { depth claim { id } }`, 3000 fields) that was most
of the request's CPU. When every field under a list item is plain (a Strawberry field
without a resolver, so its value is an attribute of the item; no arguments, no @defer,
no middleware) and is a scalar, an enum or another such object, the item is completed
here directly: each field read through the same resolver graphql-core would call and
each leaf coerced the same way.

A resolver marked `@reads_only_context` (it reads nothing but `info.context`, like an
edge's `target`, which answers from the request's DataLoaders when they hold the row)
counts as plain too: it is called with a stand-in info holding only the context, and
when it cannot answer at once (it returns an awaitable) the list is left to the general
completion.

An item that does not complete plainly (a null where the type says non-null, a value
that does not coerce, an error) makes the whole list complete again the general way,
so errors, their paths and null propagation are exactly graphql-core's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from inspect import isawaitable
from operator import attrgetter
from typing import Any, TypeVar

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    Undefined,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


@dataclass(frozen=True)
class PlainField:
    """How to complete one response key of a plain object."""

    response_name: str
    # Reads the field's value from the item; None for `__typename`.
    resolve: Callable[[Any], Any] | None
    non_null: bool
    # Exactly one of these for a resolved field: the leaf type to coerce to, or the
    # plain fields of the object it returns.
    leaf: GraphQLLeafType | None
    fields: tuple[PlainField, ...] | None
    typename: str | None = None


class NotPlain(Exception):
    """This item needs the general completion."""


_CONTEXT_ONLY = "_phiacta_reads_only_context"
F = TypeVar("F", bound=Callable[..., Any])


def reads_only_context(resolver: F) -> F:
    """Mark a resolver `(self, info)` that uses nothing of `info` but `info.context`
    and has no arguments, no permissions and no field extensions."""
    setattr(resolver, _CONTEXT_ONLY, True)
    return resolver


@dataclass(frozen=True)
class ContextInfo:
    """All a `reads_only_context` resolver may touch of its info."""

    context: Any


def attribute_reader(field_def: GraphQLField) -> Callable[[Any], Any]:
    """The value of a resolver-less field: the item's attribute, read directly when
    Strawberry's default resolver is `getattr` (it is unless configured otherwise), which
    saves the three Python calls of its wrapper per field."""
    definition = field_def.extensions.get("strawberry-definition")
    if definition is not None and getattr(definition, "default_resolver", None) is getattr:
        return attrgetter(definition.python_name)
    resolve = field_def.resolve
    assert resolve is not None
    return lambda source: resolve(source, None)


def context_only_function(field_def: GraphQLField) -> Callable[[Any, Any], Any] | None:
    """The function `(source, info)` of a field whose resolver is marked
    `reads_only_context`, callable with a stand-in info; None for other fields."""
    definition = field_def.extensions.get("strawberry-definition")
    resolver = getattr(definition, "base_resolver", None)
    function = getattr(resolver, "wrapped_func", None)
    if function is None or not getattr(function, _CONTEXT_ONLY, False):
        return None
    if getattr(definition, "extensions", None) or getattr(definition, "permission_classes", None):
        return None
    return function  # type: ignore[no-any-return]


def _context_resolver(field_def: GraphQLField, context: Any) -> Callable[[Any], Any] | None:
    """A plain stand-in for a field whose resolver is marked `reads_only_context`."""
    function = context_only_function(field_def)
    if function is None:
        return None
    info = ContextInfo(context)

    def resolve(source: Any) -> Any:
        value = function(source, info)
        if isawaitable(value):
            if isinstance(value, Coroutine):
                value.close()  # never started: nothing to clean up but the warning
            raise NotPlain
        return value

    return resolve


def complete_plain(fields: tuple[PlainField, ...], source: Any) -> dict[str, Any]:
    completed: dict[str, Any] = {}
    for field in fields:
        if field.resolve is None:
            completed[field.response_name] = field.typename
            continue
        value = field.resolve(source)
        if value is None or value is Undefined:
            if field.non_null:
                raise NotPlain
            completed[field.response_name] = None
        elif isinstance(value, Exception):
            raise NotPlain
        elif field.leaf is not None:
            coerced = field.leaf.coerce_output_value(value)
            if coerced is None or coerced is Undefined:
                raise NotPlain
            completed[field.response_name] = coerced
        else:
            assert field.fields is not None
            completed[field.response_name] = complete_plain(field.fields, value)
    return completed


class CompletedList(list[Any]):
    """A list field's value whose items are already its response: JSON objects keyed by
    the selection's response names, built by a resolver that read its own selection
    (as `traverse` does for a walk read by ids). The executor passes it through as is."""


class PlainListsExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with lists of plain objects completed directly."""

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        if isinstance(items, CompletedList):
            return items
        fields = None
        if isinstance(items, list) and len(items) > 1:
            fields = self._plain_items(item_type, field_details_list, path)
        if fields is not None:
            # Any failure (NotPlain, or an error reading or coercing a value) leaves the
            # list to the general completion below, which reports it as graphql-core does.
            with contextlib.suppress(Exception):
                return [complete_plain(fields, item) for item in items]
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )

    def _plain_items(
        self, item_type: GraphQLOutputType, field_details_list: FieldDetailsList, path: Path
    ) -> tuple[PlainField, ...] | None:
        """The plain fields of the list's items, or None when they are not plain."""
        if not isinstance(item_type, GraphQLNonNull):
            return None
        object_type = item_type.of_type
        if not isinstance(object_type, GraphQLObjectType):
            return None
        # Strawberry passes a manager always; it wraps resolvers only when an extension
        # has a `resolve` hook.
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return None
        if self.get_stream_usage(field_details_list, path) is not None:
            return None
        return self._plain_fields(object_type, field_details_list)

    def _plain_fields(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> tuple[PlainField, ...] | None:
        if object_type.is_type_of is not None:
            return None
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(
            object_type, field_details_list
        )
        if new_defer_usages:
            return None
        fields: list[PlainField] = []
        for response_name, details in grouped_field_set.items():
            field = self._plain_field(object_type, response_name, details)
            if field is None:
                return None
            fields.append(field)
        return tuple(fields)

    def _plain_field(
        self, object_type: GraphQLObjectType, response_name: str, details: FieldDetailsList
    ) -> PlainField | None:
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            return PlainField(response_name, None, True, None, None, object_type.name)
        field_def = self.schema.get_field(object_type, name)
        if field_def is None or field_def.args or node.arguments:
            return None
        resolve: Callable[[Any], Any] | None
        # Strawberry marks the resolver of a field that only reads an attribute.
        if getattr(field_def.resolve, "_is_default", False):
            resolve = attribute_reader(field_def)
        else:
            resolve = _context_resolver(field_def, self.context_value)
        if resolve is None:
            return None
        return_type = field_def.type
        non_null = isinstance(return_type, GraphQLNonNull)
        named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
        if isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
            return PlainField(response_name, resolve, non_null, named, None)
        if isinstance(named, GraphQLObjectType):
            inner = self._plain_fields(named, details)
            if inner is None:
                return None
            return PlainField(response_name, resolve, non_null, None, inner)
        return None
