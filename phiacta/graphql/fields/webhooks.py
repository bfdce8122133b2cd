"""Webhooks for extension bots that cannot hold a socket: register, list, delete, inspect.

A webhook belongs to the agent whose key created it; only that agent (or an admin) sees,
deletes or inspects it. The secret is write-only: it signs deliveries and is never
returned.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

import strawberry

from phiacta.errors import ErrorCode, FieldProblem, NotFound, ValidationFailed
from phiacta.events.filters import KNOWN_TYPES, EventCriteria
from phiacta.events.webhooks import validate_webhook_url
from phiacta.graphql.context import Info
from phiacta.graphql.enums import ClaimType
from phiacta.graphql.fields.namespaces import parse_namespace_path
from phiacta.graphql.ids import id_problem, uuid_of
from phiacta.graphql.pagination import (
    Connection,
    build_connection,
    page_args,
    parse_time_key,
    time_key,
)
from phiacta.graphql.permissions import CanReadClaims, IsAuthenticated, require_viewer
from phiacta.observability.audit import audit_write
from phiacta.store import edge_types as edge_type_store
from phiacta.store import webhooks as webhook_store
from phiacta.store.webhooks import WebhookDeliveryRow, WebhookRow

MAX_URL_LENGTH = 2000
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 256
MAX_WEBHOOKS_LISTED = 200
MAX_FILTER_VALUES = 50
DELIVERY_CURSOR_KIND = "webhook_delivery"


@strawberry.enum(description="Whether a webhook's recent deliveries succeed.")
class WebhookStatus(Enum):
    ACTIVE = "active"
    FAILING = "failing"


@strawberry.enum(description="Where one delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@strawberry.type(description="Which events a webhook receives; every criterion set must hold.")
class WebhookFilter:
    namespace: str | None
    claim_types: list[str] | None
    source_id: strawberry.ID | None
    edge_types: list[str] | None
    claim_id: strawberry.ID | None


def _id_or_none(value: str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(value)


@strawberry.type(description="An HTTP endpoint that receives signed POSTs of matching events.")
class Webhook:
    id: UUID
    url: str
    event_types: list[str] = strawberry.field(description="Empty means every event type.")
    filter: WebhookFilter
    status: WebhookStatus
    consecutive_failures: int
    created_by_id: UUID
    created_at: datetime
    last_success_at: datetime | None
    last_failure_at: datetime | None

    @classmethod
    def from_row(cls, row: WebhookRow) -> Webhook:
        criteria = EventCriteria.from_json(row.filter, None)
        return cls(
            id=row.id,
            url=row.url,
            event_types=list(row.event_types),
            filter=WebhookFilter(
                namespace=criteria.namespace,
                claim_types=sorted(criteria.claim_types) if criteria.claim_types else None,
                source_id=_id_or_none(criteria.source_id),
                edge_types=sorted(criteria.edge_types) if criteria.edge_types else None,
                claim_id=_id_or_none(criteria.claim_id),
            ),
            status=WebhookStatus(row.status),
            consecutive_failures=row.consecutive_failures,
            created_by_id=row.created_by,
            created_at=row.created_at,
            last_success_at=row.last_success_at,
            last_failure_at=row.last_failure_at,
        )


@strawberry.type(description="One event's delivery to one webhook, with its attempts.")
class WebhookDelivery:
    id: UUID
    webhook_id: UUID
    event_id: str
    event_type: str
    status: WebhookDeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due (null once delivered or given up)."
    )
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: WebhookDeliveryRow) -> WebhookDelivery:
        return cls(
            id=row.id,
            webhook_id=row.webhook_id,
            event_id=str(row.event_id),
            event_type=row.event_type,
            status=WebhookDeliveryStatus(row.status),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
        )


@strawberry.input(description="Which events to deliver; every criterion given must hold.")
class WebhookFilterInput:
    namespace: str | None = strawberry.field(
        default=None, description="Dotted path; its whole subtree matches."
    )
    claim_types: list[ClaimType] | None = None
    source_id: strawberry.ID | None = None
    edge_types: list[str] | None = None
    claim_id: strawberry.ID | None = None


def _check_plain_fields(
    url: str, event_types: list[str], filter: WebhookFilterInput | None, secret: str
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if len(url) > MAX_URL_LENGTH:
        problems.append(FieldProblem("url", f"at most {MAX_URL_LENGTH} characters"))
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        problems.append(
            FieldProblem("secret", f"must be {MIN_SECRET_LENGTH}-{MAX_SECRET_LENGTH} characters")
        )
    problems.extend(
        FieldProblem(f"eventTypes[{i}]", f"unknown event type {t!r}")
        for i, t in enumerate(event_types)
        if t not in KNOWN_TYPES
    )
    if filter is not None and filter.namespace is not None:
        try:
            parse_namespace_path(filter.namespace, "filter.namespace")
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if filter is not None and len(filter.edge_types or []) > MAX_FILTER_VALUES:
        problems.append(FieldProblem("filter.edgeTypes", f"at most {MAX_FILTER_VALUES} values"))
    for name, value in (
        ("sourceId", None if filter is None else filter.source_id),
        ("claimId", None if filter is None else filter.claim_id),
    ):
        if value is not None and (problem := id_problem(value, f"filter.{name}")) is not None:
            problems.append(problem)
    return problems


async def _validate(
    info: Info, url: str, event_types: list[str], filter: WebhookFilterInput | None, secret: str
) -> EventCriteria:
    """Every problem of the input at once, or the filter to store."""
    problems = _check_plain_fields(url, event_types, filter, secret)
    if len(url) <= MAX_URL_LENGTH:
        try:
            await validate_webhook_url(
                url, allow_private=info.context.settings.webhooks_allow_private
            )
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    edge_types = list(filter.edge_types) if filter and filter.edge_types else []
    if edge_types and len(edge_types) <= MAX_FILTER_VALUES:
        async with info.context.connection() as conn:
            known = await edge_type_store.edge_types_by_name(conn, edge_types)
        problems.extend(
            FieldProblem(
                f"filter.edgeTypes[{i}]", f"unknown edge type {name!r}", ErrorCode.EDGE_TYPE_UNKNOWN
            )
            for i, name in enumerate(edge_types)
            if name not in known
        )
    if problems:
        raise ValidationFailed(problems)
    if filter is None:
        return EventCriteria()
    return EventCriteria(
        namespace=filter.namespace,
        claim_types=frozenset(t.value for t in filter.claim_types) if filter.claim_types else None,
        source_id=str(UUID(filter.source_id)) if filter.source_id else None,
        edge_types=frozenset(edge_types) if edge_types else None,
        claim_id=str(UUID(filter.claim_id)) if filter.claim_id else None,
    )


async def _own_webhook(info: Info, webhook_id: UUID) -> WebhookRow:
    """The webhook when the caller may see it; NOT_FOUND otherwise (existence not leaked)."""
    viewer = require_viewer(info.context)
    async with info.context.connection() as conn:
        row = await webhook_store.webhook_by_id(conn, webhook_id)
    if row is None or not viewer.may_change(row.created_by):
        raise NotFound(f"no webhook {webhook_id}")
    return row


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        description="The caller's webhooks (an admin sees every webhook).",
        permission_classes=[IsAuthenticated],
    )
    async def webhooks(self, info: Info) -> list[Webhook]:
        viewer = require_viewer(info.context)
        async with info.context.connection() as conn:
            rows = await webhook_store.webhooks_of(
                conn, None if viewer.is_admin else viewer.agent_id, limit=MAX_WEBHOOKS_LISTED
            )
        return [Webhook.from_row(row) for row in rows]

    @strawberry.field(
        description="A webhook's deliveries, newest first.", permission_classes=[IsAuthenticated]
    )
    async def webhook_deliveries(
        self,
        info: Info,
        webhook_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDelivery]:
        args = page_args(first, after, DELIVERY_CURSOR_KIND, 2)
        hook = await _own_webhook(info, uuid_of(webhook_id, "webhookId"))
        position = parse_time_key(args.after) if args.after else None
        async with info.context.connection() as conn:
            rows = await webhook_store.deliveries_page(
                conn, hook.id, after=position, limit=args.first + 1
            )

        async def count() -> int:
            async with info.context.connection() as conn:
                return await webhook_store.count_deliveries(conn, hook.id)

        return build_connection(
            rows,
            args,
            kind=DELIVERY_CURSOR_KIND,
            key=lambda row: time_key(row.created_at, row.id),
            node=WebhookDelivery.from_row,
            count=count,
        )


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description=(
            "Register a URL to receive matching events as signed POSTs (X-Signature: "
            "sha256=<HMAC-SHA256 of the body keyed with `secret`>). Empty eventTypes means all."
        ),
        permission_classes=[IsAuthenticated, CanReadClaims],
    )
    async def create_webhook(
        self,
        info: Info,
        url: str,
        secret: str,
        event_types: list[str] | None = None,
        filter: WebhookFilterInput | None = None,
    ) -> Webhook:
        viewer = require_viewer(info.context)
        types = sorted(set(event_types or []))
        criteria = await _validate(info, url, list(event_types or []), filter, secret)
        async with info.context.connection() as conn:
            row = await webhook_store.insert_webhook(
                conn,
                url=url,
                event_types=types,
                filter=criteria.to_json(),
                secret=secret,
                created_by=viewer.agent_id,
            )
        audit_write(
            operation="createWebhook",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[row.id],
        )
        return Webhook.from_row(row)

    @strawberry.mutation(
        description="Delete a webhook (its creator or an admin); pending deliveries go too.",
        permission_classes=[IsAuthenticated],
    )
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> bool:
        viewer = require_viewer(info.context)
        hook = await _own_webhook(info, uuid_of(id, "id"))
        async with info.context.connection() as conn:
            deleted = await webhook_store.delete_webhook(conn, hook.id)
        if not deleted:
            raise NotFound(f"no webhook {id}")
        audit_write(
            operation="deleteWebhook",
            agent_id=viewer.agent_id,
            request_id=info.context.request_id,
            ids=[hook.id],
        )
        return True
