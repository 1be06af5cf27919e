"""Agent fleet: per-agent quota windows, per-agent daily metrics, held (due-later) tasks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 16:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

APP_ROLE = "agentfleet_app"
NEW_TENANT_TABLES = ("agent_quota_windows", "agent_quota_claims")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_quota_windows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("quota", sa.String(length=30), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_quota_windows_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agent_quota_windows_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_quota_windows")),
        sa.UniqueConstraint(
            "agent_id",
            "quota",
            "window_start",
            name=op.f("uq_agent_quota_windows_agent_id_quota_window_start"),
        ),
    )
    op.create_index(op.f("ix_agent_quota_windows_tenant_id"), "agent_quota_windows", ["tenant_id"])
    op.create_table(
        "agent_quota_claims",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("quota", sa.String(length=30), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_quota_claims_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_agent_quota_claims_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agent_quota_claims_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_quota_claims")),
        sa.UniqueConstraint("task_id", "quota", name=op.f("uq_agent_quota_claims_task_id_quota")),
    )
    op.create_index(op.f("ix_agent_quota_claims_tenant_id"), "agent_quota_claims", ["tenant_id"])
    op.create_index(op.f("ix_agent_quota_claims_agent_id"), "agent_quota_claims", ["agent_id"])

    op.add_column("tasks", sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_tasks_due",
        "tasks",
        ["scheduled_at"],
        postgresql_where=sa.text("status = 'pending' AND dispatched_at IS NULL"),
    )

    op.add_column("daily_metrics", sa.Column("agent_id", sa.Uuid(), nullable=True))
    for name, kind in (
        ("response_time_s_total", sa.BigInteger()),
        ("opportunities_identified", sa.Integer()),
        ("items_processed", sa.Integer()),
    ):
        op.add_column(
            "daily_metrics", sa.Column(name, kind, nullable=False, server_default=sa.text("0"))
        )
        op.alter_column("daily_metrics", name, server_default=None)
    op.create_foreign_key(
        op.f("fk_daily_metrics_agent_id_agents"),
        "daily_metrics",
        "agents",
        ["agent_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(op.f("ix_daily_metrics_agent_id"), "daily_metrics", ["agent_id"])
    op.drop_constraint(
        op.f("uq_daily_metrics_tenant_id_day_agent_type"), "daily_metrics", type_="unique"
    )
    op.create_unique_constraint(
        op.f("uq_daily_metrics_tenant_id_day_agent_type_agent_id"),
        "daily_metrics",
        ["tenant_id", "day", "agent_type", "agent_id"],
        postgresql_nulls_not_distinct=True,
    )

    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(NEW_TENANT_TABLES)} TO {APP_ROLE}"
    )
    for table in NEW_TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {APP_ROLE} "
            "USING (tenant_id = agentfleet_current_tenant()) "
            "WITH CHECK (tenant_id = agentfleet_current_tenant())"
        )


def downgrade() -> None:
    op.drop_constraint(
        op.f("uq_daily_metrics_tenant_id_day_agent_type_agent_id"), "daily_metrics", type_="unique"
    )
    op.execute("DELETE FROM daily_metrics WHERE agent_id IS NOT NULL")
    op.create_unique_constraint(
        op.f("uq_daily_metrics_tenant_id_day_agent_type"),
        "daily_metrics",
        ["tenant_id", "day", "agent_type"],
    )
    op.drop_index(op.f("ix_daily_metrics_agent_id"), table_name="daily_metrics")
    op.drop_constraint(
        op.f("fk_daily_metrics_agent_id_agents"), "daily_metrics", type_="foreignkey"
    )
    for name in (
        "items_processed",
        "opportunities_identified",
        "response_time_s_total",
        "agent_id",
    ):
        op.drop_column("daily_metrics", name)
    op.drop_index("ix_tasks_due", table_name="tasks")
    op.drop_column("tasks", "dispatched_at")
    op.drop_table("agent_quota_claims")
    op.drop_table("agent_quota_windows")
