"""Claims: a partial index of the retracted ones, for the retracted check of a walk.

Every claim a traversal or path search reaches is checked for retraction. Through the
primary key that is a visit to the claim's heap row per candidate (about 2 kB rows with
their embedding, so thousands of random page reads per walk at 1M claims). Retracted
claims are few; an index of just their ids answers the check from a handful of pages.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_claims_retracted ON claims (id) WHERE status = 'retracted'")


def downgrade() -> None:
    op.execute("DROP INDEX ix_claims_retracted")
