"""Running a query from a plan made once per document, not through graphql-core's
general execution.

For a short read such as `claim(id) { createdBy { name } outgoing(first: 10) { ... } }`
graphql-core's executor costs as much CPU as the resolvers and the database together:
per field it groups the selection again, builds a response path and a resolve-info
object, looks at the field's type to decide how to complete it and checks for
awaitables. All of that depends on the document alone except the values, so `plan`
decides it once per prepared query and `run` only reads values and coerces leaves:

- a field Strawberry resolves by reading an attribute is read with `attrgetter`; one
  whose resolver reads only `info.context` (`plain_lists.reads_only_context`) is
  called with a stand-in info; every other resolver is called exactly as graphql-core
  calls it, with the argument values graphql-core computes and a real resolve info;
- a resolver's awaitable is awaited, and the awaitables of sibling fields or list
  items are gathered together, as graphql-core does, so DataLoaders batch the same way;
- leaves are coerced by their type's `coerce_output_value`.

A plan covers documents without directives (no @skip, @include, @defer or @stream),
fragment arguments, abstract types or introspection fields; `plan` returns None for
the others, which keep graphql-core. Only queries are planned: a mutation is never run
twice.

A run answers only when nothing went wrong. At the first error (a resolver raising or
returning an error, a null where the type says non-null, a value that does not coerce,
variables that do not coerce) it stops with `Fallback` and the operation is executed
again by graphql-core, whose answer (errors, their paths and locations, null
propagation) is the reference. That run is handed what the failed resolvers raised
(`replay`) instead of calling them again; the others only read, so running them again
changes nothing. A plan that falls back more often than it answers is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import CoroutineType
from typing import Any, TypeGuard, TypeVar

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    OperationType,
    Undefined,
    Visitor,
    visit,
)
from graphql.execution import Executor
from graphql.execution.collect_fields import FieldDetailsList, collect_fields
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path

from phiacta.graphql.engine.plain_lists import (
    CompletedList,
    ContextInfo,
    attribute_reader,
    context_only_function,
)

# A plan is dropped once it has fallen back this many times more than it answered.
MAX_FALLBACK_EXCESS = 16


class Fallback(Exception):
    """The run met something only graphql-core's general execution answers.

    `failures` holds what resolvers raised, by response path: graphql-core's run
    replays them (`replay`) instead of calling those resolvers again, so a resolver that
    failed slowly (a statement timeout) does not fail slowly twice.
    """

    def __init__(self, failures: dict[tuple[str | int, ...], Exception] | None = None) -> None:
        super().__init__()
        self.failures = failures or {}


class _Unplannable(Exception):
    """The document uses something plans do not cover."""


IsAwaitable = Callable[[Any], TypeGuard[Awaitable[Any]]]


class _Run:
    """What one execution of a plan needs: the request's executor (its variables,
    fragments and context, for resolve infos and arguments)."""

    __slots__ = ("context_info", "executor", "failures", "is_awaitable")

    def __init__(self, executor: Executor[Any], is_awaitable: IsAwaitable) -> None:
        self.executor = executor
        self.is_awaitable = is_awaitable
        self.context_info = ContextInfo(executor.context_value)
        self.failures: dict[tuple[str | int, ...], Exception] = {}


def _null(value: Any, non_null: bool) -> bool:
    """Whether `value` completes to null; raises `Fallback` where graphql-core would
    report an error (a null in a non-null field, an error or a coroutine as a value)."""
    if value is None or value is Undefined:
        if non_null:
            raise Fallback
        return True
    if isinstance(value, (Exception, CoroutineType)):
        raise Fallback
    return False


class _Leaf:
    """A scalar or enum: its value coerced by the type."""

    __slots__ = ("coerce", "non_null")

    def __init__(self, leaf_type: GraphQLLeafType, non_null: bool) -> None:
        self.coerce = leaf_type.coerce_output_value
        self.non_null = non_null

    def complete(self, value: Any, path: Path | None, state: _Run) -> Any:
        if _null(value, self.non_null):
            return None
        coerced = self.coerce(value)
        if coerced is None or coerced is Undefined:
            raise Fallback
        return coerced


class _List:
    """A list: each item completed, their awaitables gathered."""

    __slots__ = ("item", "needs_path", "non_null")

    def __init__(self, item: _Completion, non_null: bool) -> None:
        self.item = item
        self.non_null = non_null
        # Whether the items need response paths (for resolve infos below them).
        self.needs_path = _needs_path(item)

    def complete(self, value: Any, path: Path | None, state: _Run) -> Any:
        if _null(value, self.non_null):
            return None
        if isinstance(value, CompletedList):
            return value
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            raise Fallback  # not a list: graphql-core reports it
        complete = self.item.complete
        completed: list[Any] = []
        try:
            if self.needs_path:
                for index, element in enumerate(value):
                    completed.append(complete(element, Path(path, index, None), state))
            else:
                for element in value:
                    completed.append(complete(element, None, state))
        except Exception:
            _settle_in_background([item for item in completed if type(item) is CoroutineType])
            raise
        pending = [index for index, item in enumerate(completed) if type(item) is CoroutineType]
        if not pending:
            return completed
        return _gathered(completed, pending)


class _Object:
    """An object type: its fields read or resolved, then completed."""

    __slots__ = ("fields", "needs_path", "non_null", "typename")

    def __init__(
        self, object_type: GraphQLObjectType, fields: tuple[_Field, ...], non_null: bool
    ) -> None:
        self.typename = object_type.name
        self.fields = fields
        self.non_null = non_null
        # Whether a field below needs response paths (for the resolve infos it is given).
        self.needs_path = any(f.needs_path for f in fields)

    def complete(self, source: Any, path: Path | None, state: _Run) -> Any:
        if _null(source, self.non_null):
            return None
        return self.complete_fields(source, path, state)

    def complete_fields(self, source: Any, path: Path | None, state: _Run) -> Any:
        """The object's fields on `source` (the root value too, which may be None)."""
        result: dict[str, Any] = {}
        pending: list[str] = []
        try:
            for plan_field in self.fields:
                name = plan_field.response_name
                completed = self._complete_field(plan_field, source, path, state)
                result[name] = completed
                # The only awaitables completion makes are its own coroutines.
                if type(completed) is CoroutineType:
                    pending.append(name)
        except Exception:
            _settle_in_background([result[name] for name in pending])
            raise
        if not pending:
            return result
        return _gathered(result, pending)

    def _complete_field(
        self, plan_field: _Field, source: Any, path: Path | None, state: _Run
    ) -> Any:
        complete = plan_field.complete
        if complete is None:  # __typename
            return plan_field.typename
        # Built only where a resolver below is given a resolve info.
        field_path = (
            Path(path, plan_field.response_name, self.typename) if plan_field.needs_path else None
        )
        # An attribute holds a value: an error or a coroutine there fails to complete
        # below and falls back. Resolvers may answer later.
        if plan_field.read is not None:
            return complete.complete(plan_field.read(source), field_path, state)
        if plan_field.context_only is not None:
            value = plan_field.context_only(source, state.context_info)
        else:
            value = _resolve(plan_field, source, field_path, state)
        if state.is_awaitable(value):
            return _complete_later(complete, value, field_path, state)
        return complete.complete(value, field_path, state)


_Completion = _Leaf | _List | _Object


@dataclass(frozen=True, slots=True)
class _Field:
    response_name: str
    # `__typename`: the parent's type name, nothing to resolve or complete.
    typename: str | None = None
    # An attribute read: value = read(source).
    read: Callable[[Any], Any] | None = None
    # A resolver that reads only the context: value = context_only(source, info).
    context_only: Callable[[Any, Any], Any] | None = None
    # Any other resolver, called as graphql-core calls it.
    resolve: Callable[..., Any] | None = None
    definition: GraphQLField | None = None
    field_nodes: list[FieldNode] | None = None
    parent_type: GraphQLObjectType | None = None
    has_arguments: bool = False
    complete: _Completion | None = None
    needs_path: bool = False


@dataclass
class Plan:
    """How to run one query; `answered` and `fell_back` decide whether it is kept."""

    root: _Object
    answered: int = 0
    fell_back: int = 0
    dropped: bool = False

    def note(self, answered: bool) -> None:
        if answered:
            self.answered += 1
        else:
            self.fell_back += 1
            if self.fell_back - self.answered > MAX_FALLBACK_EXCESS:
                self.dropped = True


class _Uncovered(Visitor):
    """Finds what a plan does not cover in a document."""

    found = False

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.found = True

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        if getattr(node, "arguments", None):
            self.found = True

    def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: Any) -> None:
        if node.variable_definitions:
            self.found = True

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        name = node.name.value
        if name.startswith("__") and name != "__typename":
            self.found = True


def plannable(document: DocumentNode) -> bool:
    """Whether `plan` may cover operations of this document."""
    visitor = _Uncovered()
    visit(document, visitor)
    return not visitor.found


def plan(executor: Executor[Any]) -> Plan | None:
    """The plan of the executor's operation, a query; None when it is not covered."""
    operation = executor.operation
    if operation.operation is not OperationType.QUERY or executor.middleware_manager:
        return None
    root_type = executor.schema.query_type
    assert root_type is not None  # a query was validated against it
    collected = collect_fields(
        executor.schema,
        executor.fragments,
        executor.variable_values,
        root_type,
        operation,
        executor.hide_suggestions,
    )
    try:
        return Plan(_object_plan(executor, root_type, collected.grouped_field_set, False))
    except _Unplannable:
        return None


def _object_plan(
    executor: Executor[Any],
    object_type: GraphQLObjectType,
    grouped: Mapping[str, FieldDetailsList],
    non_null: bool,
) -> _Object:
    if object_type.is_type_of is not None:
        raise _Unplannable
    fields = tuple(
        _field_plan(executor, object_type, response_name, details)
        for response_name, details in grouped.items()
    )
    return _Object(object_type, fields, non_null)


def _field_plan(
    executor: Executor[Any],
    parent_type: GraphQLObjectType,
    response_name: str,
    details: FieldDetailsList,
) -> _Field:
    first = details[0]
    if first.defer_usage is not None or first.fragment_variable_values is not None:
        raise _Unplannable
    node = first.node
    name = node.name.value
    if name == "__typename":
        return _Field(response_name, typename=parent_type.name)
    definition = executor.schema.get_field(parent_type, name)
    if definition is None or definition.resolve is None:
        raise _Unplannable
    complete = _completion(executor, definition.type, details)
    below = _needs_path(complete)
    has_arguments = bool(definition.args or node.arguments)
    if not has_arguments and getattr(definition.resolve, "_is_default", False):
        return _Field(
            response_name, read=attribute_reader(definition), complete=complete, needs_path=below
        )
    function = None if has_arguments else context_only_function(definition)
    if function is not None:
        return _Field(response_name, context_only=function, complete=complete, needs_path=below)
    return _Field(
        response_name,
        resolve=definition.resolve,
        definition=definition,
        field_nodes=[d.node for d in details],
        parent_type=parent_type,
        has_arguments=has_arguments,
        complete=complete,
        needs_path=True,
    )


def _completion(
    executor: Executor[Any], return_type: GraphQLOutputType, details: FieldDetailsList
) -> _Completion:
    non_null = isinstance(return_type, GraphQLNonNull)
    named = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
    if isinstance(named, GraphQLList):
        return _List(_completion(executor, named.of_type, details), non_null)
    if isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
        return _Leaf(named, non_null)
    if isinstance(named, GraphQLObjectType):
        grouped, defer_usages, _ = executor.collect_subfields(named, details)
        if defer_usages:
            raise _Unplannable
        return _object_plan(executor, named, grouped, non_null)
    raise _Unplannable  # interfaces and unions


def _needs_path(completion: _Completion) -> bool:
    return not isinstance(completion, _Leaf) and completion.needs_path


async def run(plan: Plan, executor: Executor[Any], is_awaitable: IsAwaitable) -> dict[str, Any]:
    """The operation's data; raises `Fallback` when graphql-core must answer instead."""
    state = _Run(executor, is_awaitable)
    try:
        data = plan.root.complete_fields(executor.root_value, None, state)
        if type(data) is CoroutineType:
            data = await data
    except Exception as exc:
        raise Fallback(state.failures) from exc
    assert isinstance(data, dict)
    return data


async def _complete_later(
    completion: _Completion, awaitable: Awaitable[Any], path: Path | None, state: _Run
) -> Any:
    completed = completion.complete(await awaitable, path, state)
    if type(completed) is CoroutineType:
        return await completed
    return completed


def _resolve(plan_field: _Field, source: Any, path: Path | None, state: _Run) -> Any:
    executor = state.executor
    definition = plan_field.definition
    assert definition is not None and plan_field.parent_type is not None and path is not None
    field_nodes = plan_field.field_nodes
    assert field_nodes is not None
    info: GraphQLResolveInfo[Any] = executor.build_resolve_info(
        definition, field_nodes, plan_field.parent_type, path
    )
    if plan_field.has_arguments:
        arguments = get_argument_values(
            definition, field_nodes[0], executor.variable_values, None, executor.hide_suggestions
        )
    else:
        arguments = {}
    assert plan_field.resolve is not None
    try:
        value = plan_field.resolve(source, info, **arguments)
    except Exception as exc:
        state.failures[tuple(path.as_list())] = exc
        raise
    if state.is_awaitable(value):
        return _recording(value, path, state)
    return value


async def _recording(awaitable: Awaitable[Any], path: Path, state: _Run) -> Any:
    """The resolver's awaited value; what it raises is kept for `replay`."""
    try:
        return await awaitable
    except Exception as exc:
        state.failures[tuple(path.as_list())] = exc
        raise


def replay(failures: dict[tuple[str | int, ...], Exception]) -> Callable[..., Any] | None:
    """graphql-core middleware raising, at each path where a resolver failed during the
    planned run, what it raised then, instead of calling it again."""
    if not failures:
        return None

    def replaying(
        next_: Callable[..., Any], root: Any, info: GraphQLResolveInfo[Any], **arguments: Any
    ) -> Any:
        failure = failures.get(tuple(info.path.as_list()))
        if failure is not None:
            raise failure
        return next_(root, info, **arguments)

    return replaying


Completed = TypeVar("Completed", dict[str, Any], list[Any])


async def _gathered(completed: Completed, pending: Sequence[Any]) -> Completed:
    """`completed` (an object's fields or a list's items) with the awaitables at the
    keys `pending` replaced by their values, awaited together."""
    if len(pending) == 1:
        key = pending[0]
        completed[key] = await completed[key]
        return completed
    values = await asyncio.gather(*(completed[key] for key in pending), return_exceptions=True)
    for key, value in zip(pending, values, strict=True):
        completed[key] = _settled(value)
    return completed


# Background settlements still running: the event loop keeps only weak references.
_SETTLING: set[asyncio.Future[Any]] = set()


def _settle_in_background(awaitables: list[Any]) -> None:
    """Run to their end the coroutines a failed completion already made, as graphql-core
    does with its own: dropped unawaited, each would make Python warn that it was never
    awaited, and a resolver coroutine already started would be left half done."""
    if not awaitables:
        return
    settling = asyncio.ensure_future(asyncio.gather(*awaitables, return_exceptions=True))
    _SETTLING.add(settling)
    settling.add_done_callback(_SETTLING.discard)


def _settled(value: Any) -> Any:
    """A gathered value; every awaitable ran to its end first, so none is left behind."""
    if isinstance(value, asyncio.CancelledError):
        raise value
    if isinstance(value, BaseException):
        raise Fallback from value
    return value
