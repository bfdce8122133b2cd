"""Which events a subscriber or a webhook wants, decided from the event alone.

A filter is a conjunction: an event matches when it satisfies every criterion that is
set. A criterion on a payload field the event does not carry (a namespace on an
`edge_created`) does not match: asking for a namespace means "events in that namespace".
These checks are cheap and synchronous, so the bus runs them at dispatch time and a
subscriber's buffer only ever holds events it will send.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from phiacta.events import INTERNAL_TYPES, EventType, may_receive
from phiacta.store.rows import EventRow
from phiacta.store.visibility import PUBLIC, Visibility

# The types clients may ask for; internal ones never match a client's criteria.
KNOWN_TYPES = frozenset(t.value for t in EventType) - INTERNAL_TYPES


@dataclass(frozen=True)
class EventCriteria:
    types: frozenset[str] | None = None
    namespace: str | None = None
    claim_types: frozenset[str] | None = None
    source_id: str | None = None
    edge_types: frozenset[str] | None = None
    claim_id: str | None = None
    # Who receives: an event about a draft reaches only its creator and admins.
    audience: Visibility = PUBLIC

    def matches(self, event: EventRow) -> bool:
        payload = event.payload
        return (
            (event.type in (KNOWN_TYPES if self.types is None else self.types))
            and may_receive(payload, self.audience.agent_id, self.audience.sees_all_drafts)
            and (self.namespace is None or in_namespace(payload, self.namespace))
            and _field_in(payload, "claim_type", self.claim_types)
            and _field_is(payload, "source_id", self.source_id)
            and _field_in(payload, "edge_type", self.edge_types)
            and _field_is(payload, "claim_id", self.claim_id)
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form (webhooks keep their filter as JSON); unset criteria omitted."""
        stored: dict[str, Any] = {}
        for name in ("namespace", "source_id", "claim_id"):
            value = getattr(self, name)
            if value is not None:
                stored[name] = value
        for name in ("claim_types", "edge_types"):
            values = getattr(self, name)
            if values is not None:
                stored[name] = sorted(values)
        return stored

    @classmethod
    def from_json(
        cls,
        stored: dict[str, Any],
        types: Iterable[str] | None,
        audience: Visibility = PUBLIC,
    ) -> EventCriteria:
        def many(name: str) -> frozenset[str] | None:
            values = stored.get(name)
            return frozenset(str(v) for v in values) if isinstance(values, list) else None

        def one(name: str) -> str | None:
            value = stored.get(name)
            return str(value) if value is not None else None

        given = frozenset(types) if types else None
        return cls(
            audience=audience,
            types=given,
            namespace=one("namespace"),
            claim_types=many("claim_types"),
            source_id=one("source_id"),
            edge_types=many("edge_types"),
            claim_id=one("claim_id"),
        )


def in_namespace(payload: dict[str, Any], namespace: str) -> bool:
    """Whether the event's namespace is `namespace` or lies under it (a dotted subtree)."""
    path = payload.get("namespace_path")
    if not isinstance(path, str):
        return False
    return path == namespace or path.startswith(namespace + ".")


def _field_in(payload: dict[str, Any], field: str, allowed: frozenset[str] | None) -> bool:
    return allowed is None or str(payload.get(field)) in allowed


def _field_is(payload: dict[str, Any], field: str, wanted: str | None) -> bool:
    return wanted is None or str(payload.get(field)).lower() == wanted.lower()
