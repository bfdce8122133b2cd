"""Events: the outbox's vocabulary, the LISTEN/NOTIFY bus, and webhooks.

Every writing transaction appends its events with `phiacta.store.events.append_event`.
The event types and their payloads (all ids are strings):

- `claim_created`: claim_id, lineage_id, version, claim_type, namespace_id,
  namespace_path, source_id, bundle_id, created_by, status
- `claim_revised`: claim_id, lineage_id, version, previous_id, claim_type,
  namespace_id, namespace_path, created_by, status, carried_edges (how many of the
  old version's edges the new version took over)
- `claim_status_changed`: claim_id, lineage_id, status, previous_status, reason,
  changed_by
- `edge_created`: edge_id, source_id, target_id, edge_type, strength, created_by
- `edge_deleted`: edge_id, source_id, target_id, edge_type, deleted_by
- `review_created`: review_id, claim_id, reviewer_id, verdict, confidence, replaced
- `review_withdrawn`: review_id, claim_id, reviewer_id, verdict, withdrawn_by
- `claim_at_risk`: claim_id, lineage_id, retracted_id, path (claim ids from the
  dependent to the retracted claim), created_by
- `bundle_accepted`: bundle_id, submitted_by, source_id, idempotency_key, claim_count,
  edge_count, artifact_count
- `pending_reference_resolved`: pending_reference_id, source_claim_id, external_ref,
  edge_type, resolved_to, edge_id

An event about a draft (or an edge touching one) carries `private_to`, the draft
creator's agent id: only that agent's subscribers and webhooks, and admins', receive it.

Internal events travel the same way but are for the servers alone: no subscription or
webhook is offered them (`INTERNAL_TYPES`).

- `api_key_revoked`: key_id. Every replica closes that key's open sockets (4403).
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID


class EventType(StrEnum):
    CLAIM_CREATED = "claim_created"
    CLAIM_REVISED = "claim_revised"
    CLAIM_STATUS_CHANGED = "claim_status_changed"
    EDGE_CREATED = "edge_created"
    EDGE_DELETED = "edge_deleted"
    REVIEW_CREATED = "review_created"
    REVIEW_WITHDRAWN = "review_withdrawn"
    CLAIM_AT_RISK = "claim_at_risk"
    BUNDLE_ACCEPTED = "bundle_accepted"
    PENDING_REFERENCE_RESOLVED = "pending_reference_resolved"
    API_KEY_REVOKED = "api_key_revoked"


INTERNAL_TYPES = frozenset({EventType.API_KEY_REVOKED.value})


PRIVATE_TO = "private_to"


def private_to(status: str, created_by: UUID | None) -> dict[str, str]:
    """The payload entry that keeps an event about a draft to its creator (and admins)."""
    if status != "draft" or created_by is None:
        return {}
    return {PRIVATE_TO: str(created_by)}


def may_receive(payload: dict[str, object], agent_id: UUID | None, sees_all: bool) -> bool:
    """Whether a subscriber or webhook acting for `agent_id` may receive the event."""
    owner = payload.get(PRIVATE_TO)
    return owner is None or sees_all or (agent_id is not None and owner == str(agent_id))
