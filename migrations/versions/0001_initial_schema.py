"""Initial schema: the whole data model, database roles, row-level security and the outbox wake-up.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 13:54:25.046475
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSONB = postgresql.JSONB(astext_type=sa.Text())

APP_ROLE = "agentfleet_app"
RELAY_ROLE = "agentfleet_relay"

# Frozen copy of the tenant-owned tables at this revision (not imported from the models).
TENANT_TABLES = (
    "users",
    "api_keys",
    "agents",
    "tasks",
    "agent_messages",
    "accounts",
    "contacts",
    "opportunities",
    "suppression_list",
    "drafts",
    "approval_items",
    "activity_log",
    "daily_metrics",
    "provider_credentials",
    "provider_usage",
    "outbox",
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("monthly_budget_usd", sa.Numeric(precision=12, scale=4), nullable=True),
        sa.Column("settings", JSONB, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('active', 'suspended')", name=op.f("ck_tenants_status_valid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("industry", sa.String(length=200), nullable=True),
        sa.Column("employee_count", sa.Integer(), nullable=True),
        sa.Column("annual_revenue_usd", sa.BigInteger(), nullable=True),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("technologies", JSONB, nullable=False),
        sa.Column("enrichment", JSONB, nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("score_explanation", JSONB, nullable=True),
        sa.Column("external_ids", JSONB, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_accounts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("tenant_id", "domain", name=op.f("uq_accounts_tenant_id_domain")),
    )
    op.create_index(op.f("ix_accounts_tenant_id"), "accounts", ["tenant_id"], unique=False)
    op.create_table(
        "agents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_type", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", JSONB, nullable=False),
        sa.Column("schedule", sa.String(length=100), nullable=True),
        sa.Column("limits", JSONB, nullable=False),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "agent_type IN ('lead_source', 'enrichment', 'contact_finder', 'scoring', 'outreach', 'followup')",
            name=op.f("ck_agents_agent_type_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('idle', 'active', 'waiting_approval', 'paused', 'error')",
            name=op.f("ck_agents_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agents_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint(
            "tenant_id", "agent_type", "name", name=op.f("uq_agents_tenant_id_agent_type_name")
        ),
    )
    op.create_index(op.f("ix_agents_tenant_id"), "agents", ["tenant_id"], unique=False)
    op.create_table(
        "daily_metrics",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("agent_type", sa.String(length=30), nullable=False),
        sa.Column("tasks_completed", sa.Integer(), nullable=False),
        sa.Column("tasks_failed", sa.Integer(), nullable=False),
        sa.Column("drafts_created", sa.Integer(), nullable=False),
        sa.Column("approvals_approved", sa.Integer(), nullable=False),
        sa.Column("approvals_rejected", sa.Integer(), nullable=False),
        sa.Column("messages_sent", sa.Integer(), nullable=False),
        sa.Column("responses", sa.Integer(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_daily_metrics_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_metrics")),
        sa.UniqueConstraint(
            "tenant_id", "day", "agent_type", name=op.f("uq_daily_metrics_tenant_id_day_agent_type")
        ),
    )
    op.create_index(
        op.f("ix_daily_metrics_tenant_id"), "daily_metrics", ["tenant_id"], unique=False
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("destination", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("headers", JSONB, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "available_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.Uuid(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("kind IN ('task', 'event')", name=op.f("ck_outbox_kind_valid")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_outbox_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outbox_dedup_key")),
    )
    op.create_index(op.f("ix_outbox_tenant_id"), "outbox", ["tenant_id"], unique=False)
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["available_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "provider_credentials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("encrypted_key", sa.LargeBinary(), nullable=False),
        sa.Column("encryption_key_id", sa.String(length=40), nullable=False),
        sa.Column("key_hint", sa.String(length=8), nullable=False),
        sa.Column("limits", JSONB, nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "provider IN ('openai', 'anthropic', 'gemini', 'apollo')",
            name=op.f("ck_provider_credentials_provider_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_provider_credentials_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_credentials")),
        sa.UniqueConstraint(
            "tenant_id",
            "provider",
            "name",
            name=op.f("uq_provider_credentials_tenant_id_provider_name"),
        ),
    )
    op.create_index(
        op.f("ix_provider_credentials_tenant_id"),
        "provider_credentials",
        ["tenant_id"],
        unique=False,
    )
    op.create_table(
        "suppression_list",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "reason IN ('unsubscribed', 'bounced', 'complained', 'manual')",
            name=op.f("ck_suppression_list_reason_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_suppression_list_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_list")),
        sa.UniqueConstraint("tenant_id", "email", name=op.f("uq_suppression_list_tenant_id_email")),
    )
    op.create_index(
        op.f("ix_suppression_list_tenant_id"), "suppression_list", ["tenant_id"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'manager', 'sales_rep', 'viewer')", name=op.f("ck_users_role_valid")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_users_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("tenant_id", "email", name=op.f("uq_users_tenant_id_email")),
    )
    op.create_index(op.f("ix_users_tenant_id"), "users", ["tenant_id"], unique=False)
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'manager', 'sales_rep', 'viewer')",
            name=op.f("ck_api_keys_role_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_api_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_tenant_id"), "api_keys", ["tenant_id"], unique=False)
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"], unique=False)
    op.create_table(
        "contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("seniority", sa.String(length=50), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("linkedin_url", sa.String(length=500), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("enrichment", JSONB, nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("outreach_status", sa.String(length=20), nullable=False),
        sa.Column("last_contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("external_ids", JSONB, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "outreach_status IN ('new', 'queued', 'contacted', 'replied', 'bounced', 'unsubscribed', 'do_not_contact')",
            name=op.f("ck_contacts_outreach_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_contacts_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_contacts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("tenant_id", "email", name=op.f("uq_contacts_tenant_id_email")),
    )
    op.create_index(op.f("ix_contacts_account_id"), "contacts", ["account_id"], unique=False)
    op.create_index(op.f("ix_contacts_tenant_id"), "contacts", ["tenant_id"], unique=False)
    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("parent_task_id", sa.Uuid(), nullable=True),
        sa.Column("agent_type", sa.String(length=30), nullable=False),
        sa.Column("task_type", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("trigger", sa.String(length=10), nullable=False),
        sa.Column("input", JSONB, nullable=False),
        sa.Column("output", JSONB, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("items_processed", sa.Integer(), nullable=False),
        sa.Column("items_succeeded", sa.Integer(), nullable=False),
        sa.Column("items_failed", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "agent_type IN ('lead_source', 'enrichment', 'contact_finder', 'scoring', 'outreach', 'followup')",
            name=op.f("ck_tasks_agent_type_valid"),
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'medium', 'high', 'urgent')", name=op.f("ck_tasks_priority_valid")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'in_progress', 'completed', 'failed', 'cancelled')",
            name=op.f("ck_tasks_status_valid"),
        ),
        sa.CheckConstraint(
            "trigger IN ('manual', 'scheduled', 'event', 'api')",
            name=op.f("ck_tasks_trigger_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_tasks_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_task_id"],
            ["tasks.id"],
            name=op.f("fk_tasks_parent_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tasks_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name=op.f("uq_tasks_tenant_id_idempotency_key")
        ),
    )
    op.create_index(op.f("ix_tasks_agent_id"), "tasks", ["agent_id"], unique=False)
    op.create_index(op.f("ix_tasks_parent_task_id"), "tasks", ["parent_task_id"], unique=False)
    op.create_index(op.f("ix_tasks_tenant_id"), "tasks", ["tenant_id"], unique=False)
    op.create_index("ix_tasks_tenant_id_status", "tasks", ["tenant_id", "status"], unique=False)
    op.create_table(
        "activity_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("actor_kind", sa.String(length=10), nullable=False),
        sa.Column("actor_id", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=True),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        sa.Column("details", JSONB, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "actor_kind IN ('agent', 'user', 'system')",
            name=op.f("ck_activity_log_actor_kind_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_activity_log_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_activity_log_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_activity_log_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_log")),
    )
    op.create_index(op.f("ix_activity_log_agent_id"), "activity_log", ["agent_id"], unique=False)
    op.create_index(
        op.f("ix_activity_log_created_at"), "activity_log", ["created_at"], unique=False
    )
    op.create_index(op.f("ix_activity_log_task_id"), "activity_log", ["task_id"], unique=False)
    op.create_index(op.f("ix_activity_log_tenant_id"), "activity_log", ["tenant_id"], unique=False)
    op.create_table(
        "agent_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("from_agent_id", sa.Uuid(), nullable=True),
        sa.Column("to_agent_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("message_type", sa.String(length=20), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "message_type IN ('request', 'response', 'notification', 'escalation')",
            name=op.f("ck_agent_messages_message_type_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["from_agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_messages_from_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_agent_messages_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agent_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_messages_to_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_messages")),
    )
    op.create_index(
        op.f("ix_agent_messages_from_agent_id"), "agent_messages", ["from_agent_id"], unique=False
    )
    op.create_index(op.f("ix_agent_messages_task_id"), "agent_messages", ["task_id"], unique=False)
    op.create_index(
        op.f("ix_agent_messages_tenant_id"), "agent_messages", ["tenant_id"], unique=False
    )
    op.create_index(
        op.f("ix_agent_messages_to_agent_id"), "agent_messages", ["to_agent_id"], unique=False
    )
    op.create_table(
        "opportunities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("event_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("relevance_score", sa.Float(), nullable=True),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('event', 'opportunity', 'signal')", name=op.f("ck_opportunities_kind_valid")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_opportunities_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_opportunities_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_opportunities_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
    )
    op.create_index(
        op.f("ix_opportunities_account_id"), "opportunities", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_opportunities_contact_id"), "opportunities", ["contact_id"], unique=False
    )
    op.create_index(
        op.f("ix_opportunities_tenant_id"), "opportunities", ["tenant_id"], unique=False
    )
    op.create_table(
        "drafts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.String(length=60), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("opportunity_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("personalization", JSONB, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("prompt_version", sa.String(length=40), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("model_parameters", JSONB, nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'linkedin', 'other')", name=op.f("ck_drafts_channel_valid")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'pending_approval', 'approved', 'sent', 'rejected')",
            name=op.f("ck_drafts_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_drafts_agent_id_agents"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_drafts_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_drafts_opportunity_id_opportunities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_drafts_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_drafts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
        sa.UniqueConstraint("task_id", "step", name=op.f("uq_drafts_task_id_step")),
    )
    op.create_index(op.f("ix_drafts_agent_id"), "drafts", ["agent_id"], unique=False)
    op.create_index(op.f("ix_drafts_contact_id"), "drafts", ["contact_id"], unique=False)
    op.create_index(op.f("ix_drafts_opportunity_id"), "drafts", ["opportunity_id"], unique=False)
    op.create_index(op.f("ix_drafts_task_id"), "drafts", ["task_id"], unique=False)
    op.create_index(op.f("ix_drafts_tenant_id"), "drafts", ["tenant_id"], unique=False)
    op.create_table(
        "approval_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("agent_type", sa.String(length=30), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("draft_id", sa.Uuid(), nullable=True),
        sa.Column("item_type", sa.String(length=30), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("context", JSONB, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reviewer_user_id", sa.Uuid(), nullable=True),
        sa.Column("reviewer_key_id", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("edited_content", JSONB, nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "item_type IN ('email_draft', 'linkedin_draft', 'message_draft', 'followup_draft', 'lead_import')",
            name=op.f("ck_approval_items_item_type_valid"),
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'medium', 'high', 'urgent')",
            name=op.f("ck_approval_items_priority_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'edited', 'rejected', 'expired')",
            name=op.f("ck_approval_items_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_approval_items_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["drafts.id"],
            name=op.f("fk_approval_items_draft_id_drafts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_key_id"],
            ["api_keys.id"],
            name=op.f("fk_approval_items_reviewer_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_user_id"],
            ["users.id"],
            name=op.f("fk_approval_items_reviewer_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_approval_items_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_approval_items_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_items")),
        sa.UniqueConstraint("draft_id", name=op.f("uq_approval_items_draft_id")),
    )
    op.create_index(
        op.f("ix_approval_items_agent_id"), "approval_items", ["agent_id"], unique=False
    )
    op.create_index(op.f("ix_approval_items_task_id"), "approval_items", ["task_id"], unique=False)
    op.create_index(
        op.f("ix_approval_items_tenant_id"), "approval_items", ["tenant_id"], unique=False
    )
    op.create_index(
        "ix_approval_items_tenant_id_status",
        "approval_items",
        ["tenant_id", "status"],
        unique=False,
    )
    op.create_table(
        "provider_usage",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("draft_id", sa.Uuid(), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("operation", sa.String(length=60), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('ok', 'error', 'rate_limited')",
            name=op.f("ck_provider_usage_outcome_valid"),
        ),
        sa.CheckConstraint(
            "provider IN ('openai', 'anthropic', 'gemini', 'apollo')",
            name=op.f("ck_provider_usage_provider_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_provider_usage_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["drafts.id"],
            name=op.f("fk_provider_usage_draft_id_drafts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_provider_usage_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_provider_usage_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_usage")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_provider_usage_dedup_key")),
    )
    op.create_index(
        op.f("ix_provider_usage_agent_id"), "provider_usage", ["agent_id"], unique=False
    )
    op.create_index(
        op.f("ix_provider_usage_draft_id"), "provider_usage", ["draft_id"], unique=False
    )
    op.create_index(op.f("ix_provider_usage_task_id"), "provider_usage", ["task_id"], unique=False)
    op.create_index(
        op.f("ix_provider_usage_tenant_id"), "provider_usage", ["tenant_id"], unique=False
    )
    op.create_index(
        "ix_provider_usage_tenant_id_created_at",
        "provider_usage",
        ["tenant_id", "created_at"],
        unique=False,
    )

    _create_roles_and_security()
    _create_outbox_wakeup()


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS agentfleet_find_api_key(text)")
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS agentfleet_outbox_notify()")
    op.drop_index("ix_provider_usage_tenant_id_created_at", table_name="provider_usage")
    op.drop_index(op.f("ix_provider_usage_tenant_id"), table_name="provider_usage")
    op.drop_index(op.f("ix_provider_usage_task_id"), table_name="provider_usage")
    op.drop_index(op.f("ix_provider_usage_draft_id"), table_name="provider_usage")
    op.drop_index(op.f("ix_provider_usage_agent_id"), table_name="provider_usage")
    op.drop_table("provider_usage")
    op.drop_index("ix_approval_items_tenant_id_status", table_name="approval_items")
    op.drop_index(op.f("ix_approval_items_tenant_id"), table_name="approval_items")
    op.drop_index(op.f("ix_approval_items_task_id"), table_name="approval_items")
    op.drop_index(op.f("ix_approval_items_agent_id"), table_name="approval_items")
    op.drop_table("approval_items")
    op.drop_index(op.f("ix_drafts_tenant_id"), table_name="drafts")
    op.drop_index(op.f("ix_drafts_task_id"), table_name="drafts")
    op.drop_index(op.f("ix_drafts_opportunity_id"), table_name="drafts")
    op.drop_index(op.f("ix_drafts_contact_id"), table_name="drafts")
    op.drop_index(op.f("ix_drafts_agent_id"), table_name="drafts")
    op.drop_table("drafts")
    op.drop_index(op.f("ix_opportunities_tenant_id"), table_name="opportunities")
    op.drop_index(op.f("ix_opportunities_contact_id"), table_name="opportunities")
    op.drop_index(op.f("ix_opportunities_account_id"), table_name="opportunities")
    op.drop_table("opportunities")
    op.drop_index(op.f("ix_agent_messages_to_agent_id"), table_name="agent_messages")
    op.drop_index(op.f("ix_agent_messages_tenant_id"), table_name="agent_messages")
    op.drop_index(op.f("ix_agent_messages_task_id"), table_name="agent_messages")
    op.drop_index(op.f("ix_agent_messages_from_agent_id"), table_name="agent_messages")
    op.drop_table("agent_messages")
    op.drop_index(op.f("ix_activity_log_tenant_id"), table_name="activity_log")
    op.drop_index(op.f("ix_activity_log_task_id"), table_name="activity_log")
    op.drop_index(op.f("ix_activity_log_created_at"), table_name="activity_log")
    op.drop_index(op.f("ix_activity_log_agent_id"), table_name="activity_log")
    op.drop_table("activity_log")
    op.drop_index("ix_tasks_tenant_id_status", table_name="tasks")
    op.drop_index(op.f("ix_tasks_tenant_id"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_parent_task_id"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_agent_id"), table_name="tasks")
    op.drop_table("tasks")
    op.drop_index(op.f("ix_contacts_tenant_id"), table_name="contacts")
    op.drop_index(op.f("ix_contacts_account_id"), table_name="contacts")
    op.drop_table("contacts")
    op.drop_index(op.f("ix_api_keys_user_id"), table_name="api_keys")
    op.drop_index(op.f("ix_api_keys_tenant_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_users_tenant_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_suppression_list_tenant_id"), table_name="suppression_list")
    op.drop_table("suppression_list")
    op.drop_index(op.f("ix_provider_credentials_tenant_id"), table_name="provider_credentials")
    op.drop_table("provider_credentials")
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    op.drop_index(op.f("ix_outbox_tenant_id"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_daily_metrics_tenant_id"), table_name="daily_metrics")
    op.drop_table("daily_metrics")
    op.drop_index(op.f("ix_agents_tenant_id"), table_name="agents")
    op.drop_table("agents")
    op.drop_index(op.f("ix_accounts_tenant_id"), table_name="accounts")
    op.drop_table("accounts")
    op.drop_table("tenants")
    op.execute("DROP FUNCTION IF EXISTS agentfleet_current_tenant()")


def _create_roles_and_security() -> None:
    """Roles for the services, least-privilege grants and forced row-level security.

    ``agentfleet_app`` (API, workers, CLI) sees only the rows of the tenant named by the
    transaction-local setting ``app.tenant_id``; ``agentfleet_relay`` reads and marks outbox
    rows of every tenant and nothing else. Roles are cluster-wide, so they are created only
    when missing.
    """
    for role in (APP_ROLE, RELAY_ROLE):
        op.execute(
            f"DO $$ BEGIN CREATE ROLE {role} LOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
    op.execute(
        "CREATE FUNCTION agentfleet_current_tenant() RETURNS uuid LANGUAGE sql STABLE AS "
        "$$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$"
    )
    tables = ("tenants", *TENANT_TABLES)
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(tables)} TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, UPDATE ON outbox TO {RELAY_ROLE}")
    for table in tables:
        key = "id" if table == "tenants" else "tenant_id"
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {APP_ROLE} "
            f"USING ({key} = agentfleet_current_tenant()) "
            f"WITH CHECK ({key} = agentfleet_current_tenant())"
        )
    op.execute(f"CREATE POLICY relay_all_tenants ON outbox TO {RELAY_ROLE} USING (true)")
    # API keys are found before the tenant is known: a definer function reads them for the
    # application role, and the owner may read keys and tenants for it (RLS is forced).
    for table in ("api_keys", "tenants"):
        op.execute(
            f"CREATE POLICY owner_key_lookup ON {table} FOR SELECT TO CURRENT_USER USING (true)"
        )
    op.execute(
        """
        CREATE FUNCTION agentfleet_find_api_key(p_prefix text)
        RETURNS TABLE (id uuid, tenant_id uuid, user_id uuid, key_hash text, role text,
                       expires_at timestamptz, revoked_at timestamptz, tenant_status text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT k.id, k.tenant_id, k.user_id, k.key_hash::text, k.role::text,
                   k.expires_at, k.revoked_at, t.status::text
            FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
            WHERE k.prefix = p_prefix
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION agentfleet_find_api_key(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION agentfleet_find_api_key(text) TO {APP_ROLE}")


def _create_outbox_wakeup() -> None:
    """Wake the relays at commit of any transaction that wrote outbox rows."""
    op.execute(
        "CREATE FUNCTION agentfleet_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_notify('agentfleet_outbox', ''); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION agentfleet_outbox_notify()"
    )
