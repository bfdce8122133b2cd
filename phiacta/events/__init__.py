"""Events: the outbox's vocabulary, the LISTEN/NOTIFY bus, and webhooks.

Every writing transaction appends its events with `phiacta.store.events.append_event`.
The event types and their payloads (all ids are strings):

- `claim_created`: claim_id, lineage_id, version, claim_type, namespace_id,
  namespace_path, source_id, bundle_id, created_by
- `claim_revised`: claim_id, lineage_id, version, previous_id, claim_type,
  namespace_id, namespace_path, created_by
- `claim_status_changed`: claim_id, lineage_id, status, previous_status, reason,
  changed_by
- `edge_created`: edge_id, source_id, target_id, edge_type, strength, created_by
- `edge_deleted`: edge_id, source_id, target_id, edge_type, deleted_by
- `review_created`: review_id, claim_id, reviewer_id, verdict, confidence, replaced
- `bundle_accepted`: bundle_id, submitted_by, source_id, idempotency_key, claim_count,
  edge_count, artifact_count
- `pending_reference_resolved`: pending_reference_id, source_claim_id, external_ref,
  edge_type, resolved_to, edge_id

Internal events travel the same way but are for the servers alone: no subscription or
webhook is offered them (`INTERNAL_TYPES`).

- `api_key_revoked`: key_id. Every replica closes that key's open sockets (4403).
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    CLAIM_CREATED = "claim_created"
    CLAIM_REVISED = "claim_revised"
    CLAIM_STATUS_CHANGED = "claim_status_changed"
    EDGE_CREATED = "edge_created"
    EDGE_DELETED = "edge_deleted"
    REVIEW_CREATED = "review_created"
    BUNDLE_ACCEPTED = "bundle_accepted"
    PENDING_REFERENCE_RESOLVED = "pending_reference_resolved"
    API_KEY_REVOKED = "api_key_revoked"


INTERNAL_TYPES = frozenset({EventType.API_KEY_REVOKED.value})
