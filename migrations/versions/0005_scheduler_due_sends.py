"""The scheduler finds tenants with deferred sends that are due.

A send held back by a mailbox's daily cap or a transient SMTP failure waits as ``deferred``
until ``not_before``; the scheduler queues it again then. Its SECURITY DEFINER function, the
only thing it may read across tenants, now names those tenants too (and its owner may read
``message_sends`` for it, row-level security being forced).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 10:05:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_HEAD = """
CREATE OR REPLACE FUNCTION agentfleet_scheduler_tenants(p_now timestamptz)
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.id FROM tenants t
    WHERE t.status = 'active' AND (
        EXISTS (
            SELECT 1 FROM agents a
            WHERE a.tenant_id = t.id AND a.enabled AND a.schedule IS NOT NULL
              AND a.status IN ('idle', 'active'))
        OR EXISTS (
            SELECT 1 FROM tasks k
            WHERE k.tenant_id = t.id AND k.status = 'pending'
              AND k.dispatched_at IS NULL AND k.scheduled_at <= p_now)
        OR EXISTS (
            SELECT 1 FROM approval_items i
            WHERE i.tenant_id = t.id AND i.status = 'pending'
              AND i.expires_at <= p_now)
"""

_DUE_SENDS = """
        OR EXISTS (
            SELECT 1 FROM message_sends s
            WHERE s.tenant_id = t.id AND s.status = 'deferred'
              AND s.not_before <= p_now)
"""

_TAIL = """)
    ORDER BY t.id
$$
"""


def upgrade() -> None:
    op.execute(
        "CREATE POLICY owner_scheduler_lookup ON message_sends FOR SELECT TO CURRENT_USER "
        "USING (true)"
    )
    op.execute(_HEAD + _DUE_SENDS + _TAIL)


def downgrade() -> None:
    op.execute(_HEAD + _TAIL)
    op.execute("DROP POLICY IF EXISTS owner_scheduler_lookup ON message_sends")
