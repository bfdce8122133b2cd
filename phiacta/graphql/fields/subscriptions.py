"""Live updates over graphql-transport-ws: typed subscriptions and the resumable `events`.

Every subscription is fed by the process's event bus (`phiacta.events.bus`): it sees each
committed change once, in commit order, and never one that rolled back. `events(after)`
first replays the outbox up to the bus position it subscribed at, then continues with
the live events above that position, so the seam has neither a gap nor a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import strawberry
from starlette.websockets import WebSocket

from phiacta.auth import ratelimit
from phiacta.embeddings.base import EmbeddingError
from phiacta.errors import ErrorCode, FieldProblem, Unavailable, ValidationFailed
from phiacta.events import EventType
from phiacta.events.bus import EventBus, SubscriberOverflowed
from phiacta.events.filters import KNOWN_TYPES, EventCriteria
from phiacta.events.pacing import ReplayPace
from phiacta.graphql.context import Info
from phiacta.graphql.engine.live_sharing import Fanout, shared_root
from phiacta.graphql.enums import ClaimType, Verdict
from phiacta.graphql.fields.namespaces import parse_namespace_path
from phiacta.graphql.ids import id_problem, optional_uuid
from phiacta.graphql.permissions import CanReadClaims
from phiacta.graphql.types import Bundle, Claim, Edge, Event
from phiacta.store import Connection
from phiacta.store import bundles as bundle_store
from phiacta.store import claims as claim_store
from phiacta.store import edge_types as edge_type_store
from phiacta.store import edges as edge_store
from phiacta.store import events as event_store
from phiacta.store.rows import EventRow
from phiacta.store.visibility import Visibility

# 1013 "Try Again Later": the client should reconnect and resume with events(after).
SLOW_SUBSCRIBER_CLOSE_CODE = 1013
SLOW_SUBSCRIBER_REASON = "subscriber too slow; reconnect and resume with events(after)"
REPLAY_BATCH = 500
MAX_SIMILAR_TEXT_LENGTH = 10_000
MAX_FILTER_VALUES = 50
SIMILARITY_BATCH = 100
SIMILARITY_CACHE_SIZE = 4096

T = TypeVar("T")

# Close tasks run detached from the subscription; keep references so they finish.
_closing: set[asyncio.Task[None]] = set()


def _uuid(payload: dict[str, Any], key: str) -> UUID | None:
    value = payload.get(key)
    try:
        return UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _int(payload: dict[str, Any], key: str) -> int:
    value = payload.get(key)
    if isinstance(value, int):
        return value
    return (event_position(value) or 0) if isinstance(value, str) else 0


# Event ids are PostgreSQL bigints: ASCII digits only (`str.isdigit` also accepts "²"
# and other scripts' digits) and at most 2**63 - 1.
_EVENT_ID = re.compile(r"[0-9]{1,19}")
MAX_EVENT_ID = 2**63 - 1


def event_position(text: str) -> int | None:
    """The event id `text` spells, or None when it is not one."""
    if not _EVENT_ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_EVENT_ID else None


RowT = TypeVar("RowT")


async def _current_row(
    info: Info,
    fetch: Callable[[Connection, list[UUID], Visibility], Awaitable[dict[UUID, RowT]]],
    row_id: UUID | None,
) -> RowT | None:
    """The row as it is now, read fresh. Not through the request's DataLoaders: a
    subscription's context lives as long as its socket, so their caches would hand later
    events the rows as they were at the first event."""
    if row_id is None:
        return None
    async with info.context.connection() as conn:
        return (await fetch(conn, [row_id], info.context.visibility)).get(row_id)


@strawberry.type(description="A claim was created or revised (a new version committed).")
class ClaimEvent:
    event_id: str = strawberry.field(description="The outbox id; resume with events(after).")
    claim_id: UUID | None
    lineage_id: UUID | None
    version: int
    claim_type: ClaimType | None
    namespace_path: str | None
    previous_id: UUID | None = strawberry.field(description="The revised version, if any.")
    source_id: UUID | None
    bundle_id: UUID | None
    created_by_id: UUID | None
    similarity: float | None = strawberry.field(
        description="Cosine similarity to `similarTo.text`, when that filter was given."
    )

    @classmethod
    def from_event(cls, event: EventRow, similarity: float | None = None) -> ClaimEvent:
        p = event.payload
        claim_type = p.get("claim_type")
        return cls(
            event_id=str(event.id),
            claim_id=_uuid(p, "claim_id"),
            lineage_id=_uuid(p, "lineage_id"),
            version=_int(p, "version"),
            claim_type=ClaimType(claim_type)
            if claim_type in ClaimType._value2member_map_
            else None,
            namespace_path=p.get("namespace_path"),
            previous_id=_uuid(p, "previous_id"),
            source_id=_uuid(p, "source_id"),
            bundle_id=_uuid(p, "bundle_id"),
            created_by_id=_uuid(p, "created_by"),
            similarity=similarity,
        )

    @strawberry.field(description="The claim version as it is now.")
    async def claim(self, info: Info) -> Claim | None:
        row = await _current_row(info, claim_store.claims_by_id, self.claim_id)
        return Claim.from_row(row) if row else None


@strawberry.type(description="An edge was created.")
class EdgeEvent:
    event_id: str
    edge_id: UUID | None
    source_id: UUID | None
    target_id: UUID | None
    edge_type: str | None
    strength: float | None
    created_by_id: UUID | None

    @classmethod
    def from_event(cls, event: EventRow) -> EdgeEvent:
        p = event.payload
        strength = p.get("strength")
        return cls(
            event_id=str(event.id),
            edge_id=_uuid(p, "edge_id"),
            source_id=_uuid(p, "source_id"),
            target_id=_uuid(p, "target_id"),
            edge_type=p.get("edge_type"),
            strength=float(strength) if isinstance(strength, (int, float)) else None,
            created_by_id=_uuid(p, "created_by"),
        )

    @strawberry.field(description="The edge as it is now (null once deleted).")
    async def edge(self, info: Info) -> Edge | None:
        row = await _current_row(info, edge_store.edges_by_id, self.edge_id)
        return Edge.from_row(row) if row else None


@strawberry.type(description="A review was created (or replaced the reviewer's earlier one).")
class ReviewEvent:
    event_id: str
    review_id: UUID | None
    claim_id: UUID | None
    reviewer_id: UUID | None
    verdict: Verdict | None
    confidence: float | None
    replaced: bool

    @classmethod
    def from_event(cls, event: EventRow) -> ReviewEvent:
        p = event.payload
        verdict = p.get("verdict")
        confidence = p.get("confidence")
        return cls(
            event_id=str(event.id),
            review_id=_uuid(p, "review_id"),
            claim_id=_uuid(p, "claim_id"),
            reviewer_id=_uuid(p, "reviewer_id"),
            verdict=Verdict(verdict) if verdict in Verdict._value2member_map_ else None,
            confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
            replaced=bool(p.get("replaced")),
        )

    @strawberry.field(description="The reviewed claim.")
    async def claim(self, info: Info) -> Claim | None:
        row = await _current_row(info, claim_store.claims_by_id, self.claim_id)
        return Claim.from_row(row) if row else None


@strawberry.type(description="A claim stands on a claim that was just retracted.")
class AtRiskEvent:
    event_id: str
    claim_id: UUID | None = strawberry.field(description="The claim now at risk.")
    retracted_id: UUID | None
    path: list[UUID] = strawberry.field(
        description="From the claim at risk to the retracted one, both included."
    )

    @classmethod
    def from_event(cls, event: EventRow) -> AtRiskEvent:
        p = event.payload
        steps = p.get("path")
        return cls(
            event_id=str(event.id),
            claim_id=_uuid(p, "claim_id"),
            retracted_id=_uuid(p, "retracted_id"),
            path=[UUID(str(s)) for s in steps] if isinstance(steps, list) else [],
        )

    @strawberry.field(description="The claim at risk, as it is now.")
    async def claim(self, info: Info) -> Claim | None:
        row = await _current_row(info, claim_store.claims_by_id, self.claim_id)
        return Claim.from_row(row) if row else None


@strawberry.type(description="A bundle was accepted: its claims and edges all committed.")
class BundleEvent:
    event_id: str
    bundle_id: UUID | None
    submitted_by_id: UUID | None
    source_id: UUID | None
    idempotency_key: str | None
    claim_count: int
    edge_count: int
    artifact_count: int

    @classmethod
    def from_event(cls, event: EventRow) -> BundleEvent:
        p = event.payload
        return cls(
            event_id=str(event.id),
            bundle_id=_uuid(p, "bundle_id"),
            submitted_by_id=_uuid(p, "submitted_by"),
            source_id=_uuid(p, "source_id"),
            idempotency_key=p.get("idempotency_key"),
            claim_count=_int(p, "claim_count"),
            edge_count=_int(p, "edge_count"),
            artifact_count=_int(p, "artifact_count"),
        )

    @strawberry.field(description="The bundle.")
    async def bundle(self, info: Info) -> Bundle | None:
        row = await _current_row(
            info, lambda conn, ids, _: bundle_store.bundles_by_id(conn, ids), self.bundle_id
        )
        return Bundle.from_row(row) if row else None


@strawberry.type(description="A pending external reference resolved into an edge.")
class PendingReferenceEvent:
    event_id: str
    pending_reference_id: UUID | None
    source_claim_id: UUID | None
    external_ref: str | None
    edge_type: str | None
    resolved_to_id: UUID | None
    edge_id: UUID | None

    @classmethod
    def from_event(cls, event: EventRow) -> PendingReferenceEvent:
        p = event.payload
        return cls(
            event_id=str(event.id),
            pending_reference_id=_uuid(p, "pending_reference_id"),
            source_claim_id=_uuid(p, "source_claim_id"),
            external_ref=p.get("external_ref"),
            edge_type=p.get("edge_type"),
            resolved_to_id=_uuid(p, "resolved_to"),
            edge_id=_uuid(p, "edge_id"),
        )


@strawberry.input(description="Only claims whose embedding is at least this close to the text.")
class SimilarToInput:
    text: str
    min_similarity: float = strawberry.field(
        default=0.8, description="Cosine similarity threshold, -1..1."
    )


@strawberry.input(description="Which new claims to receive; every criterion given must hold.")
class ClaimCreatedFilter:
    namespace: str | None = strawberry.field(
        default=None, description="Dotted path; its whole subtree matches."
    )
    claim_type: ClaimType | None = None
    source: strawberry.ID | None = strawberry.field(
        default=None, description="The claim's source id."
    )
    similar_to: SimilarToInput | None = None


def _bus_of(info: Info) -> EventBus:
    bus = info.context.services.bus
    if bus is None:
        raise Unavailable("live updates are not running in this process")
    return bus


def _closer(info: Info) -> Callable[[], None]:
    """What the bus runs when this subscriber overflows: close its socket with a code."""
    socket = info.context.request

    def close() -> None:
        if isinstance(socket, WebSocket):
            task = asyncio.create_task(_close_quietly(socket))
            _closing.add(task)
            task.add_done_callback(_closing.discard)

    return close


async def _close_quietly(socket: WebSocket) -> None:
    with contextlib.suppress(Exception):
        await socket.close(code=SLOW_SUBSCRIBER_CLOSE_CODE, reason=SLOW_SUBSCRIBER_REASON)


def _replay_pace(info: Info) -> ReplayPace:
    """The pace this subscription's client replays at (events/pacing.py)."""
    context = info.context
    socket = context.request
    address = socket.client.host if socket.client is not None else None
    return context.services.replay_paces.of(
        ratelimit.caller_of(context.viewer, address),
        context.settings.subscription_replay_events_per_second,
    )


async def _replay(
    info: Info, criteria: EventCriteria, after: int, until: int
) -> AsyncGenerator[EventRow, None]:
    """Outbox events in (after, until] matching `criteria`, read in bounded batches and
    sent at the client's replay pace; no connection is held while the client consumes
    them."""
    types = sorted(criteria.types) if criteria.types is not None else None
    pace = _replay_pace(info)
    cursor = after
    while cursor < until:
        async with info.context.connection() as conn:
            batch = await event_store.events_after(
                conn, cursor, types=types, limit=REPLAY_BATCH, until=until
            )
        for event in batch:
            if criteria.matches(event):
                # Also lets other tasks run between events: sending rarely waits.
                await pace.take()
                yield event
        if len(batch) < REPLAY_BATCH:
            return
        cursor = batch[-1].id


async def stream_events(
    info: Info, criteria: EventCriteria, *, after: int | None = None
) -> AsyncGenerator[EventRow, None]:
    """Committed events matching `criteria`: those after `after` from the outbox first
    (when given), then live ones, each exactly once and in id order. Events about
    drafts reach only their creator's keys and admins."""
    criteria = dataclasses.replace(criteria, audience=info.context.visibility)
    bus = _bus_of(info)
    subscriber, position = await bus.subscribe(accepts=criteria.matches, on_overflow=_closer(info))
    try:
        if after is not None and after < position:
            async for event in _replay(info, criteria, after, position):
                yield event
        # `after` may lie ahead of the position (a client resuming against a replica
        # that is still catching up): skip what it has already seen.
        floor = position if after is None else max(after, position)
        while True:
            try:
                event = await subscriber.next()
            except SubscriberOverflowed:
                # The socket is being closed with SLOW_SUBSCRIBER_CLOSE_CODE; the
                # transport cancels this generator when it goes.
                await asyncio.Event().wait()
                return
            if event.id > floor:
                yield event
    finally:
        bus.unsubscribe(subscriber)


async def _live(
    info: Info,
    criteria: EventCriteria,
    make: Callable[[EventRow], T],
    *,
    after: int | None = None,
) -> AsyncGenerator[T, None]:
    """`stream_events` as shared roots (`make(event)`, made once per event for every
    subscriber); those whose group already has the result encoded are sent directly
    and not yielded (`live_sharing.Fanout`)."""
    fanout = Fanout(info)
    bus = _bus_of(info).instance
    async for event in stream_events(info, criteria, after=after):
        root = shared_root((make, bus, event.id), make, event)
        if not await fanout.delivered(root):
            yield root


def _validate_claim_filter(filter: ClaimCreatedFilter | None) -> EventCriteria:
    criteria = EventCriteria(types=frozenset({EventType.CLAIM_CREATED.value}))
    if filter is None:
        return criteria
    problems: list[FieldProblem] = []
    if filter.namespace is not None:
        try:
            parse_namespace_path(filter.namespace, "filter.namespace")
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    similar = filter.similar_to
    if similar is not None:
        if not similar.text.strip():
            problems.append(FieldProblem("filter.similarTo.text", "must not be empty"))
        elif len(similar.text) > MAX_SIMILAR_TEXT_LENGTH:
            problems.append(
                FieldProblem(
                    "filter.similarTo.text", f"at most {MAX_SIMILAR_TEXT_LENGTH} characters"
                )
            )
        if not -1.0 <= similar.min_similarity <= 1.0:
            problems.append(
                FieldProblem("filter.similarTo.minSimilarity", "must be between -1 and 1")
            )
    if filter.source is not None and (problem := id_problem(filter.source, "filter.source")):
        problems.append(problem)
    if problems:
        raise ValidationFailed(problems)
    return EventCriteria(
        types=criteria.types,
        namespace=filter.namespace,
        claim_types=frozenset({filter.claim_type.value}) if filter.claim_type else None,
        source_id=str(UUID(filter.source)) if filter.source else None,
    )


async def _embed(info: Info, text: str) -> list[float]:
    embedder = info.context.services.embedder
    if embedder is None:
        raise Unavailable("no embedding provider is configured")
    try:
        return await embedder.embed_one(text)
    except EmbeddingError:
        raise Unavailable("the embedding provider failed; try again shortly") from None


def _claim_event(bus: int, event: EventRow, similarity: float | None = None) -> ClaimEvent:
    return shared_root(
        (ClaimEvent, bus, event.id, similarity), ClaimEvent.from_event, event, similarity
    )


# Every similarTo subscription is woken by the same event at about the same time: the
# similarities of one event are computed once per distinct text, in one query per event.
# Events are told apart by (bus instance, event id), as in `_live`.
_similarities: OrderedDict[tuple[int, int, str], asyncio.Future[float | None]] = OrderedDict()
_pending: dict[tuple[int, int], dict[str, tuple[list[float], asyncio.Future[float | None]]]] = {}
_batches: set[asyncio.Task[None]] = set()


async def _similarity(
    info: Info, bus: int, event: EventRow, text: str, vector: list[float]
) -> float | None:
    """Cosine similarity of the event's claim to `vector` (the embedding of `text`)."""
    claim_id = _uuid(event.payload, "claim_id")
    if claim_id is None:
        return None
    key = (bus, event.id, text)
    future = _similarities.get(key)
    if future is None:
        future = asyncio.get_running_loop().create_future()
        _similarities[key] = future
        if len(_similarities) > SIMILARITY_CACHE_SIZE:
            _similarities.popitem(last=False)
        wanted = _pending.setdefault((bus, event.id), {})
        wanted[text] = (vector, future)
        if len(wanted) == 1:
            # Runs after the subscribers woken with this one have queued their texts.
            task = asyncio.create_task(_measure(info, (bus, event.id), claim_id))
            _batches.add(task)
            task.add_done_callback(_batches.discard)
    return await asyncio.shield(future)


async def _measure(info: Info, event: tuple[int, int], claim_id: UUID) -> None:
    wanted = _pending.pop(event, {})
    texts = list(wanted)
    try:
        for start in range(0, len(texts), SIMILARITY_BATCH):
            chunk = texts[start : start + SIMILARITY_BATCH]
            async with info.context.connection() as conn:
                found = await event_store.claim_similarities(
                    conn, claim_id, [wanted[text][0] for text in chunk]
                )
            for text, similarity in zip(chunk, found, strict=True):
                wanted[text][1].set_result(similarity)
    except BaseException as exc:
        for text, (_, future) in wanted.items():
            _similarities.pop((*event, text), None)
            if not future.done():
                future.set_exception(exc)
        if not isinstance(exc, Exception):
            raise


async def _validate_edge_types(info: Info, names: list[str] | None) -> frozenset[str] | None:
    if names is None:
        return None
    if len(names) > MAX_FILTER_VALUES:
        raise ValidationFailed.single("edgeTypes", f"at most {MAX_FILTER_VALUES} edge types")
    async with info.context.connection() as conn:
        known = await edge_type_store.edge_types_by_name(conn, names)
    problems = [
        FieldProblem(f"edgeTypes[{i}]", f"unknown edge type {name!r}", ErrorCode.EDGE_TYPE_UNKNOWN)
        for i, name in enumerate(names)
        if name not in known
    ]
    if problems:
        raise ValidationFailed(problems)
    return frozenset(names)


def _validate_events_args(
    types: list[str] | None, after: str | None
) -> tuple[frozenset[str] | None, int | None]:
    problems: list[FieldProblem] = []
    if types is not None:
        problems.extend(
            FieldProblem(
                f"types[{i}]", f"unknown event type {t!r}; known: {', '.join(sorted(KNOWN_TYPES))}"
            )
            for i, t in enumerate(types)
            if t not in KNOWN_TYPES
        )
    position: int | None = None
    if after is not None:
        position = event_position(after)
        if position is None:
            problems.append(
                FieldProblem("after", "must be an event id (ASCII digits, at most 2^63 - 1)")
            )
    if problems:
        raise ValidationFailed(problems)
    return (frozenset(types) if types is not None else None), position


@strawberry.type
class LiveSubscriptions:
    @strawberry.subscription(
        description="Claims created from now on (revisions excluded), optionally filtered.",
        permission_classes=[CanReadClaims],
    )
    async def claim_created(
        self, info: Info, filter: ClaimCreatedFilter | None = None
    ) -> AsyncGenerator[ClaimEvent, None]:
        criteria = _validate_claim_filter(filter)
        similar = filter.similar_to if filter is not None else None
        # Embedded once per subscription, then compared with each candidate's stored vector.
        vector = await _embed(info, similar.text) if similar is not None else None
        fanout = Fanout(info)
        bus = _bus_of(info).instance
        async for event in stream_events(info, criteria):
            if similar is None or vector is None:
                root = _claim_event(bus, event)
            else:
                similarity = await _similarity(info, bus, event, similar.text, vector)
                if similarity is None or similarity < similar.min_similarity:
                    continue
                root = _claim_event(bus, event, similarity)
            if not await fanout.delivered(root):
                yield root

    @strawberry.subscription(
        description="New versions of existing claims.", permission_classes=[CanReadClaims]
    )
    async def claim_revised(self, info: Info) -> AsyncGenerator[ClaimEvent, None]:
        criteria = EventCriteria(types=frozenset({EventType.CLAIM_REVISED.value}))
        async for root in _live(info, criteria, ClaimEvent.from_event):
            yield root

    @strawberry.subscription(
        description="Edges created from now on, optionally only of the given types.",
        permission_classes=[CanReadClaims],
    )
    async def edge_created(
        self, info: Info, edge_types: list[str] | None = None
    ) -> AsyncGenerator[EdgeEvent, None]:
        wanted = await _validate_edge_types(info, edge_types)
        criteria = EventCriteria(types=frozenset({EventType.EDGE_CREATED.value}), edge_types=wanted)
        async for root in _live(info, criteria, EdgeEvent.from_event):
            yield root

    @strawberry.subscription(
        description="Reviews created from now on, optionally of one claim only.",
        permission_classes=[CanReadClaims],
    )
    async def review_created(
        self, info: Info, claim_id: strawberry.ID | None = None
    ) -> AsyncGenerator[ReviewEvent, None]:
        of_claim = optional_uuid(claim_id, "claimId")
        criteria = EventCriteria(
            types=frozenset({EventType.REVIEW_CREATED.value}),
            claim_id=str(of_claim) if of_claim else None,
        )
        async for root in _live(info, criteria, ReviewEvent.from_event):
            yield root

    @strawberry.subscription(
        description="Claims put at risk by a retraction from now on (one event per claim "
        "standing on the retracted one, with its path), optionally of one claim only.",
        permission_classes=[CanReadClaims],
    )
    async def claim_at_risk(
        self, info: Info, claim_id: UUID | None = None
    ) -> AsyncGenerator[AtRiskEvent, None]:
        criteria = EventCriteria(
            types=frozenset({EventType.CLAIM_AT_RISK.value}),
            claim_id=str(claim_id) if claim_id else None,
        )
        async for root in _live(info, criteria, AtRiskEvent.from_event):
            yield root

    @strawberry.subscription(
        description="Bundles accepted from now on.", permission_classes=[CanReadClaims]
    )
    async def bundle_submitted(self, info: Info) -> AsyncGenerator[BundleEvent, None]:
        criteria = EventCriteria(types=frozenset({EventType.BUNDLE_ACCEPTED.value}))
        async for root in _live(info, criteria, BundleEvent.from_event):
            yield root

    @strawberry.subscription(
        description="Pending references resolved from now on.", permission_classes=[CanReadClaims]
    )
    async def pending_reference_resolved(
        self, info: Info
    ) -> AsyncGenerator[PendingReferenceEvent, None]:
        criteria = EventCriteria(types=frozenset({EventType.PENDING_REFERENCE_RESOLVED.value}))
        async for root in _live(info, criteria, PendingReferenceEvent.from_event):
            yield root

    @strawberry.subscription(
        description=(
            "Every committed event (or only `types`). With `after`, first replays the outbox "
            "after that event id, then continues live: a reconnecting client that passes "
            "the last id it saw misses nothing and sees nothing twice."
        ),
        permission_classes=[CanReadClaims],
    )
    async def events(
        self, info: Info, types: list[str] | None = None, after: str | None = None
    ) -> AsyncGenerator[Event, None]:
        wanted, position = _validate_events_args(types, after)
        async for root in _live(info, EventCriteria(types=wanted), Event.from_row, after=position):
            yield root
