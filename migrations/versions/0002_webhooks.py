"""Webhooks: subscriptions by HTTP POST, and the state of every delivery.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# `last_event_id` is the webhook's cursor into the outbox: the fan-out step reads the
# events after it and records a delivery for each match in the same transaction that
# advances it, so a crash between the two can neither lose nor duplicate a delivery.
WEBHOOKS = """
CREATE TABLE webhooks (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    url                   text NOT NULL CHECK (url ~ '^https?://'),
    event_types           text[] NOT NULL DEFAULT '{}',
    filter                jsonb NOT NULL DEFAULT '{}',
    secret                text NOT NULL CHECK (length(secret) >= 16),
    created_by            uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'failing')),
    consecutive_failures  integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    last_event_id         bigint NOT NULL DEFAULT 0,
    last_success_at       timestamptz,
    last_failure_at       timestamptz,
    attrs                 jsonb NOT NULL DEFAULT '{}',
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_webhooks_created_by ON webhooks (created_by);
"""

# The body is stored as sent, so every retry carries the same bytes (and signature
# input) even after the outbox row it came from has been pruned.
WEBHOOK_DELIVERIES = """
CREATE TABLE webhook_deliveries (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id        uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id          bigint NOT NULL,
    event_type        text NOT NULL,
    body              text NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    last_status_code  integer,
    last_error        text,
    delivered_at      timestamptz,
    attrs             jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_webhook_deliveries_webhook_event UNIQUE (webhook_id, event_id)
);
CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX ix_webhook_deliveries_webhook_page
    ON webhook_deliveries (webhook_id, created_at DESC, id DESC);
CREATE INDEX ix_webhook_deliveries_created_at ON webhook_deliveries (created_at);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS webhook_deliveries;
DROP TABLE IF EXISTS webhooks;
"""


def upgrade() -> None:
    op.execute(WEBHOOKS)
    op.execute(WEBHOOK_DELIVERIES)


def downgrade() -> None:
    op.execute(DOWNGRADE)
