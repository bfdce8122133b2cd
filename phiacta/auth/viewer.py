"""The authenticated caller of a request: an API key's agent and scopes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID


class Scope(StrEnum):
    CLAIMS_READ = "claims:read"
    CLAIMS_WRITE = "claims:write"
    BUNDLES_WRITE = "bundles:write"
    REVIEWS_WRITE = "reviews:write"
    ADMIN = "admin"


@dataclass(frozen=True)
class Viewer:
    """The agent behind a verified API key. `admin` implies every other scope."""

    agent_id: UUID
    key_id: UUID
    key_prefix: str
    scopes: frozenset[Scope]
    agent_type: str
    agent_name: str
    # For extension agents: the manifest they registered (declared claim and edge types).
    manifest: dict[str, Any] = field(default_factory=dict)
    # Per-key overrides of the rate limits: scope group -> requests per minute.
    rate_limits: dict[str, int] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return Scope.ADMIN in self.scopes

    def has(self, scope: Scope) -> bool:
        return self.is_admin or scope in self.scopes

    def may_change(self, created_by: UUID | None) -> bool:
        """Whether this caller may revise, retract or delete what `created_by` made."""
        return self.is_admin or (created_by is not None and created_by == self.agent_id)
