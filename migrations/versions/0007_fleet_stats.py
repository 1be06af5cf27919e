"""Fleet-wide gauges for the API's /metrics: approval backlog, outbox lag, open tasks, spend.

The application role sees one tenant at a time; these totals span all of them. One SECURITY
DEFINER function hands out aggregates only (counts, ages, sums per agent type or tenant),
never a row, and the owner may read the tables it sums (row-level security being forced).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

from alembic import op

APP_ROLE = "agentfleet_app"
FUNCTION = "agentfleet_fleet_stats(timestamptz)"
# Tables the owner could not yet read across tenants (see 0001 and 0003 for the others).
OWNER_READ_TABLES = ("outbox", "provider_usage")

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_FUNCTION_SQL = """
CREATE FUNCTION agentfleet_fleet_stats(p_now timestamptz)
RETURNS TABLE(metric text, label_1 text, label_2 text, value double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH month AS (
        SELECT date_trunc('month', p_now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start
    ), spend AS (
        SELECT u.tenant_id, sum(u.cost_usd) AS usd
        FROM provider_usage u, month
        WHERE u.created_at >= month.start
        GROUP BY u.tenant_id
    )
    SELECT 'approvals_pending', i.agent_type, NULL, count(*)::float8
    FROM approval_items i WHERE i.status = 'pending' GROUP BY i.agent_type
    UNION ALL
    SELECT 'approval_oldest_pending_age_seconds', i.agent_type, NULL,
           greatest(extract(epoch FROM p_now - min(i.created_at)), 0)::float8
    FROM approval_items i WHERE i.status = 'pending' GROUP BY i.agent_type
    UNION ALL
    SELECT 'outbox_unpublished', o.kind, NULL, count(*)::float8
    FROM outbox o WHERE o.published_at IS NULL GROUP BY o.kind
    UNION ALL
    SELECT 'outbox_lag_seconds', NULL, NULL,
           coalesce(greatest(extract(epoch FROM p_now - min(o.available_at)), 0), 0)::float8
    FROM outbox o WHERE o.published_at IS NULL AND o.available_at <= p_now
    UNION ALL
    SELECT 'tasks_open', k.agent_type, k.status, count(*)::float8
    FROM tasks k WHERE k.status IN ('pending', 'in_progress') GROUP BY k.agent_type, k.status
    UNION ALL
    SELECT 'tenant_month_cost_usd', s.tenant_id::text, NULL, s.usd::float8 FROM spend s
    UNION ALL
    SELECT 'tenant_budget_used_ratio', t.id::text, NULL,
           (coalesce(s.usd, 0) / t.monthly_budget_usd)::float8
    FROM tenants t LEFT JOIN spend s ON s.tenant_id = t.id
    WHERE t.monthly_budget_usd > 0
$$
"""


def upgrade() -> None:
    for table in OWNER_READ_TABLES:
        op.execute(
            f"CREATE POLICY owner_fleet_stats ON {table} FOR SELECT TO CURRENT_USER USING (true)"
        )
    op.execute(_FUNCTION_SQL)
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}")
    for table in OWNER_READ_TABLES:
        op.execute(f"DROP POLICY IF EXISTS owner_fleet_stats ON {table}")
