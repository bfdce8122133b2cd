"""Edges: call the self-loop trigger only for an edge whose ends are the same claim.

The trigger refusing self-loops of anti-reflexive types ran its PL/pgSQL function for
every inserted edge, a function call and an expression evaluation per row (about a tenth
of the edges insert of a 500-edge bundle). A WHEN condition is evaluated by the executor
without calling the function, and only a self-loop can be refused, so the function now
runs for self-loops only. What is accepted and refused is unchanged.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UPGRADE = """
DROP TRIGGER tg_edges_refuse_self_loop ON edges;
CREATE TRIGGER tg_edges_refuse_self_loop BEFORE INSERT OR UPDATE ON edges
    FOR EACH ROW WHEN (NEW.source_id = NEW.target_id)
    EXECUTE FUNCTION edges_refuse_self_loop();
"""

DOWNGRADE = """
DROP TRIGGER tg_edges_refuse_self_loop ON edges;
CREATE TRIGGER tg_edges_refuse_self_loop BEFORE INSERT OR UPDATE ON edges
    FOR EACH ROW EXECUTE FUNCTION edges_refuse_self_loop();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
