"""Scheduler role: the application role's rights plus one function naming tenants with due work.

The scheduler works tenant by tenant under the same row-level security as the application
role (it is a member of ``agentfleet_app``); the only thing it may see across tenants is which
tenant ids have scheduled agents, held tasks that are due, or approval items past their expiry,
through a SECURITY DEFINER function that returns nothing but those ids.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 18:05:00.000000
"""

from __future__ import annotations

from alembic import op

APP_ROLE = "agentfleet_app"
SCHEDULER_ROLE = "agentfleet_scheduler"
FUNCTION = "agentfleet_scheduler_tenants(timestamptz)"
# The definer function runs as the owner, which row-level security binds too (it is forced).
OWNER_READ_TABLES = ("agents", "tasks", "approval_items")

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        f"DO $$ BEGIN CREATE ROLE {SCHEDULER_ROLE} LOGIN; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    # Policies written TO agentfleet_app apply to its members, so tenant isolation holds as is.
    op.execute(f"GRANT {APP_ROLE} TO {SCHEDULER_ROLE}")
    for table in OWNER_READ_TABLES:
        op.execute(
            f"CREATE POLICY owner_scheduler_lookup ON {table} FOR SELECT TO CURRENT_USER "
            "USING (true)"
        )
    op.execute(
        """
        CREATE FUNCTION agentfleet_scheduler_tenants(p_now timestamptz)
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
                      AND i.expires_at <= p_now))
            ORDER BY t.id
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {SCHEDULER_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}")
    for table in OWNER_READ_TABLES:
        op.execute(f"DROP POLICY IF EXISTS owner_scheduler_lookup ON {table}")
    # Roles and memberships are cluster-wide and shared by other databases: they stay.
