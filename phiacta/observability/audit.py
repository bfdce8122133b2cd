"""The audit trail: one log line for every write, naming who did what to which ids.

Audit lines go to the `phiacta.audit` logger, which `configure_logging` keeps at INFO
whatever LOG_LEVEL says, so the trail never thins out when an operator quiets the
logs. Each line has `audit: true`; ship those lines to append-only storage.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import structlog

audit_log = structlog.get_logger("phiacta.audit")


def audit_write(
    *,
    operation: str,
    agent_id: UUID | None,
    request_id: str,
    ids: Iterable[UUID | str] = (),
    **details: object,
) -> None:
    """Record a committed write. Call it after the transaction commits, never before."""
    audit_log.info(
        "audit",
        audit=True,
        operation=operation,
        agent_id=str(agent_id) if agent_id else None,
        request_id=request_id,
        ids=[str(i) for i in ids],
        **details,
    )
