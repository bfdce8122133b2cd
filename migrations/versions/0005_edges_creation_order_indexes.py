"""Edges: indexes in creation order per claim, for a claim's pages of edges.

`outgoing` and `incoming` list a claim's edges by (created_at, id). The only indexes on
an edge's ends were (source_id, edge_type) and (target_id, edge_type), so a page of a
hub's edges read and sorted all of them: with power-law degrees, a few thousand rows for
every read of a popular claim. With these, a page is its first rows of one index.
Measured at 1M claims and 5M edges on 2 cores, the claim-with-10-outgoing-edges
statement over 500 claims of degree 10 or more: p50 0.62 -> 0.37 ms, p99 6.3 -> 0.66 ms.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_edges_source_created ON edges (source_id, created_at, id)")
    op.execute("CREATE INDEX ix_edges_target_created ON edges (target_id, created_at, id)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_edges_target_created")
    op.execute("DROP INDEX ix_edges_source_created")
