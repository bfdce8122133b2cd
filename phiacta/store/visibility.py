"""Which claims a list shows: the one rule, as one SQL fragment.

Claim lists, counts and read plans leave retracted claims out unless asked for them
(retracted claims stay readable by id). Every hand-written list query and every plan of
`planner_sql` takes its condition from `listed_claim`, so the rule changes in one place.
"""

from __future__ import annotations

from psycopg import sql

LISTED_CLAIM = "{claim}.status <> 'retracted'"


def listed_claim(alias: str) -> sql.Composed:
    """The condition on the claim row `alias` for it to appear in a list."""
    return sql.SQL(LISTED_CLAIM).format(claim=sql.Identifier(alias))
