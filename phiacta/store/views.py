"""The materialized views `claims_latest` and `claims_with_confidence`.

They serve analysts and bulk reads; the API computes freshness-critical answers from the
base tables, so a view that lags a few seconds behind never shows up in a response.
"""

from __future__ import annotations

from phiacta.store import Connection

MATERIALIZED_VIEWS = ("claims_latest", "claims_with_confidence")

# CONCURRENTLY keeps the views readable during the refresh; it needs the unique index
# each view has, and a view that has been populated once (the migration creates both
# WITH DATA). Two refreshes of one view from two replicas queue behind each other.
REFRESH_CLAIMS_LATEST = "REFRESH MATERIALIZED VIEW CONCURRENTLY claims_latest"
REFRESH_CLAIMS_WITH_CONFIDENCE = "REFRESH MATERIALIZED VIEW CONCURRENTLY claims_with_confidence"


async def refresh_materialized_views(conn: Connection) -> None:
    """Refresh both views; `conn` must be in autocommit mode (each refresh commits)."""
    await conn.execute(REFRESH_CLAIMS_LATEST)
    await conn.execute(REFRESH_CLAIMS_WITH_CONFIDENCE)
