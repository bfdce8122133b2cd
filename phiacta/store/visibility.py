"""Who may see which claim: the one rule every read applies.

A DRAFT claim, and every edge with a draft at either end, is visible only to its
creator's keys and to admins; every other claim is visible to everyone who may read.
Every statement that returns claims or edges (by id, lists, counts, search, walks,
views, the prefetch statement) applies `claim_visible` to each claim it returns or
walks through, with the parameters of `Visibility.params()`. A planner composing SQL
with `psycopg.sql` uses `claim_visible_sql` (the same text).

The fragment is two-valued (never NULL), so `NOT claim_visible(..)` is safe inside an
EXISTS probe: `hidden_draft` asks the small partial index `ix_claims_draft` whether a
claim is someone else's draft, without visiting the claim's heap row, which is what a
walk or an edge page needs per neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import sql

# `{alias}` is the claims alias of the statement; the values are always parameters.
_CLAIM_VISIBLE = (
    "({alias}.status <> 'draft' OR %(viewer_admin)s"
    " OR coalesce({alias}.created_by = %(viewer_id)s::uuid, false))"
)


@dataclass(frozen=True)
class Visibility:
    """What one caller may see: its agent (None for an anonymous public read) and
    whether it sees every draft (admins, and the server's own write paths)."""

    agent_id: UUID | None
    sees_all_drafts: bool = False

    def params(self) -> dict[str, Any]:
        return {"viewer_id": self.agent_id, "viewer_admin": self.sees_all_drafts}

    def may_see(self, status: str, created_by: UUID | None) -> bool:
        """The rule of `claim_visible`, for a row already in hand (an event's claim)."""
        return (
            status != "draft"
            or self.sees_all_drafts
            or (created_by is not None and created_by == self.agent_id)
        )


# An anonymous public read: no drafts at all.
PUBLIC = Visibility(agent_id=None)
# The server's own reads inside write paths (a revision reads the claim it revises).
EVERYTHING = Visibility(agent_id=None, sees_all_drafts=True)


def claim_visible(alias: str = "c") -> str:
    """The condition that the claim row `alias` is visible (a fixed fragment; `alias`
    is always a constant of the calling statement, never client input)."""
    return _CLAIM_VISIBLE.format(alias=alias)


def claim_visible_sql(alias: str = "c") -> sql.Composed:
    """`claim_visible` as a `psycopg.sql` fragment, the alias quoted as an identifier."""
    return sql.SQL(_CLAIM_VISIBLE).format(alias=sql.Identifier(alias))


def hidden_draft(claim_id: str) -> str:
    """The condition that the claim whose id is the SQL expression `claim_id` is a
    draft the caller may not see (an index-only probe of `ix_claims_draft`)."""
    return (
        "EXISTS (SELECT 1 FROM claims hd WHERE hd.id = "
        + claim_id
        + " AND hd.status = 'draft' AND NOT "
        + claim_visible("hd")
        + ")"
    )
