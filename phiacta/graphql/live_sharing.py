"""Fan-out without per-subscriber work: one execution and one encoding per group.

With many subscribers, executing the subscription's selection set once per subscriber
per event (and encoding the same JSON each time) dominated the delay from commit to
delivery. Subscribers whose results are bound to be identical form a group, and each
event is executed and encoded once per group:

- The subscription resolvers yield *shared roots* (`shared_root`): every subscriber of
  one event gets the very same root object (keyed by what it is built from, e.g. the
  event id, plus a per-subscription similarity).
- `SharingExecutor` executes a subscription event once per (operation, variables,
  viewer visibility, root) and hands every member of that group the same result. The
  first member's execution runs as its own task, so a member that disconnects
  mid-execution cancels nothing for the others.
- `rendered_payload` encodes a shared result's `next` payload once; the transport
  splices each subscriber's operation id around it.

Viewer visibility is what decides what a viewer may see: anonymous, or the effective
scopes of the API key. Nothing reachable from a subscription's payload types depends on
which agent is asking beyond that (permission classes check scopes). A field that did
(say, "may the viewer edit this?") would have to add the agent to `visibility_key`.

Results with errors are shared too (the errors are identical), but never their
encoding: errors are coded per subscriber, with that subscriber's request id.
Everything here runs on the event loop's thread; the caches are small LRUs, and a
miss only costs an execution, never correctness.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

from graphql import ExecutionResult
from graphql.execution import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from phiacta.auth.viewer import Scope, Viewer

T = TypeVar("T")

# Enough for every event in flight at once (all subscribers work on the same few).
ROOT_CACHE_SIZE = 1024
RESULT_CACHE_SIZE = 4096
_NO_GROUP: tuple[()] = ()


class _Lru:
    """A bounded map, oldest entry out first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        return self._entries.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        self._entries[key] = value
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)


_roots = _Lru(ROOT_CACHE_SIZE)
# id(root) -> root: which objects are shared roots. Holding the object keeps its id
# from being reused while the entry lives.
_root_ids = _Lru(ROOT_CACHE_SIZE)
# (group, id(root)) -> (root, operation node, result or task)
_results = _Lru(RESULT_CACHE_SIZE)
# id(data) -> (data, encoded payload or None); only data of shared results.
_payloads = _Lru(RESULT_CACHE_SIZE)


def shared_root(key: Hashable, make: Callable[..., T], *args: Any) -> T:
    """The one root object for `key`, `make(*args)` on first use; equal keys must make
    equal roots (the key names everything the root is built from)."""
    root = _roots.get(key)
    if root is None:
        root = make(*args)
        _roots.put(key, root)
        _root_ids.put(id(root), root)
    return cast(T, root)


def _is_shared_root(value: object) -> bool:
    return _root_ids.get(id(value)) is value


def visibility_key(viewer: Viewer | None) -> Hashable:
    """What decides what `viewer` may see (see the module docstring)."""
    if viewer is None:
        return None
    return frozenset(Scope) if viewer.is_admin else viewer.scopes


def _variables_key(coerced: dict[str, Any]) -> str | None:
    try:
        return json.dumps(coerced, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return None


class SharingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; subscription events with a shared root are executed once
    per group. Queries and mutations run exactly as before."""

    _group: Hashable | None = None
    _per_event = False

    def build_per_event_executor(self, payload: Any) -> Executor[Any]:
        if self._group is None:
            self._group = self._group_of()
        executor = super().build_per_event_executor(payload)
        executor._per_event = True  # type: ignore[attr-defined]
        return executor

    def _group_of(self) -> Hashable:
        variables = _variables_key(self.variable_values.coerced)
        if variables is None:
            return _NO_GROUP
        viewer = getattr(self.context_value, "viewer", None)
        return (id(self.operation), variables, visibility_key(viewer))

    def execute_operation(self, serially: bool | None = None) -> Any:
        root = self.root_value
        if not self._per_event or self._group in (None, _NO_GROUP) or not _is_shared_root(root):
            return super().execute_operation(serially)
        key = (self._group, id(root))
        entry = _results.get(key)
        # The entry holds the root and the operation node, so neither id can have been
        # reused by another object while it lives.
        if entry is not None and entry[0] is root and entry[1] is self.operation:
            outcome = entry[2]
            return _await_shared(outcome) if isinstance(outcome, asyncio.Future) else outcome
        outcome = super().execute_operation(serially)
        if self.is_awaitable(outcome):
            task = asyncio.ensure_future(cast(Awaitable[ExecutionResult], outcome))
            task.add_done_callback(_register_done)
            _results.put(key, (root, self.operation, task))
            return _await_shared(task)
        _register(cast(ExecutionResult, outcome))
        _results.put(key, (root, self.operation, outcome))
        return outcome


async def _await_shared(task: asyncio.Future[ExecutionResult]) -> ExecutionResult:
    # Shielded: one member being cancelled must not cancel the group's execution.
    return await asyncio.shield(task)


def _register_done(task: asyncio.Future[ExecutionResult]) -> None:
    if not task.cancelled() and task.exception() is None:
        _register(task.result())


def _register(result: ExecutionResult) -> None:
    if result.data is not None and not result.errors:
        _payloads.put(id(result.data), (result.data, None))


def rendered_payload(payload: dict[str, Any]) -> str | None:
    """The encoded `next` payload `{"data": ...}` when its data is a shared result's
    (encoded on first use), else None: encode it as usual."""
    if len(payload) != 1:
        return None
    data = payload.get("data")
    entry = _payloads.get(id(data))
    if entry is None or entry[0] is not data:
        return None
    encoded: str | None = entry[1]
    if encoded is None:
        encoded = json.dumps({"data": data}, separators=(",", ":"))
        _payloads.put(id(data), (data, encoded))
    return encoded
