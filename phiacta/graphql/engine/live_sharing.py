"""Fan-out without per-subscriber work: one execution and one encoding per group.

With many subscribers, executing the subscription's selection set once per subscriber
per event, encoding the same JSON each time, and passing every result through
Strawberry's per-result machinery dominated the delay from commit to delivery.
Subscribers whose results are bound to be identical form a *group*: the same operation
node (the parser cache hands one node to every subscriber with the same document), the
same variables and the same viewer visibility. Each event is executed and encoded once
per group:

- The subscription resolvers yield *shared roots* (`shared_root`): every subscriber of
  one event gets the very same root object (keyed by what it is built from, e.g. the
  event id, plus a per-subscription similarity).
- `SharingExecutor` executes a subscription event once per (group, root) and hands
  every member the same result. The first member's execution runs as its own task, so
  a member that disconnects mid-execution cancels nothing for the others.
- The transport encodes a shared result's `next` payload once (`rendered_payload`).
- From then on the other members skip Strawberry altogether: `Fanout.delivered` finds
  the encoded payload of their group and sends it on their socket, with their own
  operation id spliced in, through the sender the transport installs for each
  operation (`operation_sender`). A member whose group has no encoded payload yet (the
  first one, or while an asynchronous execution runs) takes the ordinary path.

Viewer visibility is what decides what a viewer may see: anonymous, or the effective
scopes of the API key. Nothing reachable from a subscription's payload types depends on
which agent is asking beyond that (permission classes check scopes). A field that did
(say, "may the viewer edit this?") would have to add the agent to `visibility_key`.

Results with errors are shared too (the errors are identical), but never their
encoding: errors are coded per subscriber, with that subscriber's request id, so such
results always take the ordinary path. Everything here runs on the event loop's
thread; the caches are small LRUs, and a miss only costs an execution, never
correctness.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from graphql import ExecutionResult, OperationDefinitionNode
from graphql.execution import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from phiacta.auth.viewer import Scope, Viewer
from phiacta.graphql.context import Info

T = TypeVar("T")

# Enough for every event in flight at once (all subscribers work on the same few).
ROOT_CACHE_SIZE = 1024
RESULT_CACHE_SIZE = 4096

# Sends an encoded `next` payload as the current operation's; False when it cannot.
SharedSender = Callable[[str], Awaitable[bool]]
operation_sender: ContextVar[SharedSender | None] = ContextVar(
    "phiacta_operation_sender", default=None
)


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


class _Shared:
    """One group's result for one root. Holding the root and the operation node keeps
    their ids (part of the cache key) from being reused while the entry lives."""

    __slots__ = ("encoded", "operation", "outcome", "root")

    def __init__(self, root: object, operation: OperationDefinitionNode, outcome: Any) -> None:
        self.root = root
        self.operation = operation
        self.outcome = outcome
        self.encoded: str | None = None


_roots = _Lru(ROOT_CACHE_SIZE)
# id(root) -> root: which objects are shared roots.
_root_ids = _Lru(ROOT_CACHE_SIZE)
# (group, id(root)) -> _Shared
_results = _Lru(RESULT_CACHE_SIZE)
# id(data) -> (data, _Shared), for error-free shared results only.
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


def visibility_key(viewer: Viewer | None) -> Hashable:
    """What decides what `viewer` may see (see the module docstring)."""
    if viewer is None:
        return None
    if viewer.is_admin:
        return frozenset(Scope)
    # Drafts are private to their creator's keys: two agents may see different claims.
    return (viewer.scopes, viewer.agent_id)


def group_key(
    operation: OperationDefinitionNode, variables: dict[str, Any], context: object
) -> Hashable | None:
    """The group of a subscription; None when it cannot be told (never shared)."""
    try:
        encoded = json.dumps(variables, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return None
    return (id(operation), encoded, visibility_key(getattr(context, "viewer", None)))


class SharingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; subscription events with a shared root are executed once
    per group. Queries and mutations run exactly as before."""

    _group: Hashable | None = None
    _grouped = False
    _per_event = False

    def build_per_event_executor(self, payload: Any) -> Executor[Any]:
        if not self._grouped:
            self._group = group_key(
                self.operation, self.variable_values.coerced, self.context_value
            )
            self._grouped = True
        executor = super().build_per_event_executor(payload)
        executor._per_event = True  # type: ignore[attr-defined]
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        root = self.root_value
        if not self._per_event or self._group is None or _root_ids.get(id(root)) is not root:
            return super().execute_operation(serially)
        key = (self._group, id(root))
        entry: _Shared | None = _results.get(key)
        if entry is not None and entry.root is root and entry.operation is self.operation:
            outcome = entry.outcome
            return _await_shared(outcome) if isinstance(outcome, asyncio.Future) else outcome
        outcome = super().execute_operation(serially)
        if self.is_awaitable(outcome):
            task = asyncio.ensure_future(cast(Awaitable[ExecutionResult], outcome))
            pending = _Shared(root, self.operation, task)
            task.add_done_callback(lambda done: _register_done(done, pending))
            _results.put(key, pending)
            return _await_shared(task)
        done = _Shared(root, self.operation, outcome)
        _register(cast(ExecutionResult, outcome), done)
        _results.put(key, done)
        return outcome


async def _await_shared(task: asyncio.Future[ExecutionResult]) -> ExecutionResult:
    # Shielded: one member being cancelled must not cancel the group's execution.
    return await asyncio.shield(task)


def _register_done(task: asyncio.Future[ExecutionResult], entry: _Shared) -> None:
    if not task.cancelled() and task.exception() is None:
        _register(task.result(), entry)


def _register(result: ExecutionResult, entry: _Shared) -> None:
    if result.data is not None and not result.errors:
        _payloads.put(id(result.data), (result.data, entry))


def rendered_payload(payload: dict[str, Any]) -> str | None:
    """The encoded `next` payload `{"data": ...}` when its data is a shared result's
    (encoded on first use, then offered to the group's other members), else None:
    encode it as usual."""
    if len(payload) != 1:
        return None
    data = payload.get("data")
    found = _payloads.get(id(data))
    if found is None or found[0] is not data:
        return None
    entry: _Shared = found[1]
    if entry.encoded is None:
        entry.encoded = json.dumps({"data": data}, separators=(",", ":"))
    return entry.encoded


class Fanout:
    """One subscription's way past Strawberry: `delivered(root)` sends the group's
    encoded result for `root` when there is one."""

    def __init__(self, info: Info) -> None:
        self._operation = info.operation
        self._group = group_key(info.operation, info.variable_values, info.context)

    async def delivered(self, root: object) -> bool:
        """True when `root`'s result went out on the socket; else yield it as usual."""
        if self._group is None:
            return False
        entry: _Shared | None = _results.get((self._group, id(root)))
        if (
            entry is None
            or entry.encoded is None
            or entry.root is not root
            or entry.operation is not self._operation
        ):
            return False
        send = operation_sender.get()
        return send is not None and await send(entry.encoded)
