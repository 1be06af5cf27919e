"""The scheduler finds tenants with a mailbox inbox due for a poll.

A mailbox with an IMAP host is read for replies every ``mailbox_poll_interval_s``; the
scheduler's SECURITY DEFINER function takes that interval as a second argument and names the
tenants with an active such mailbox that was never polled or was last polled that long ago
(and that existed at the moment asked about). Without the interval (NULL, the default, as
callers of the one-argument form get) mailboxes are left out. Its owner may read ``mailboxes``
for it, row-level security being forced.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 16:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEDULER_ROLE = "agentfleet_scheduler"
ONE_ARGUMENT = "agentfleet_scheduler_tenants(timestamptz)"
TWO_ARGUMENTS = "agentfleet_scheduler_tenants(timestamptz, interval)"

_DUE_WORK = """
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
        OR EXISTS (
            SELECT 1 FROM message_sends s
            WHERE s.tenant_id = t.id AND s.status = 'deferred'
              AND s.not_before <= p_now)
"""

_DUE_MAILBOXES = """
        OR (p_mailbox_poll_interval IS NOT NULL AND EXISTS (
            SELECT 1 FROM mailboxes m
            WHERE m.tenant_id = t.id AND m.is_active AND m.imap_host IS NOT NULL
              AND m.created_at <= p_now
              AND (m.poll_state->>'polled_at' IS NULL
                   OR (m.poll_state->>'polled_at')::timestamptz
                      <= p_now - p_mailbox_poll_interval)))
"""

_WITH_MAILBOXES = f"""
CREATE FUNCTION agentfleet_scheduler_tenants(
    p_now timestamptz, p_mailbox_poll_interval interval DEFAULT NULL)
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.id FROM tenants t
    WHERE t.status = 'active' AND ({_DUE_WORK}{_DUE_MAILBOXES})
    ORDER BY t.id
$$
"""

_WITHOUT_MAILBOXES = f"""
CREATE FUNCTION agentfleet_scheduler_tenants(p_now timestamptz)
RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT t.id FROM tenants t
    WHERE t.status = 'active' AND ({_DUE_WORK})
    ORDER BY t.id
$$
"""


def upgrade() -> None:
    op.execute(
        "CREATE POLICY owner_scheduler_lookup ON mailboxes FOR SELECT TO CURRENT_USER USING (true)"
    )
    # A new argument is a new signature: the old function goes, so one name means one thing.
    op.execute(f"DROP FUNCTION {ONE_ARGUMENT}")
    op.execute(_WITH_MAILBOXES)
    _grant(TWO_ARGUMENTS)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {TWO_ARGUMENTS}")
    op.execute(_WITHOUT_MAILBOXES)
    _grant(ONE_ARGUMENT)
    op.execute("DROP POLICY IF EXISTS owner_scheduler_lookup ON mailboxes")


def _grant(function: str) -> None:
    op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {SCHEDULER_ROLE}")
