"""Sending, replies and reviewer guidance: mailboxes, one send per draft, inbound replies,
per-agent guidance, and stale approval items (triggers mark a pending item stale when the
draft, contact or account behind it changes).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 17:23:29.052284
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

APP_ROLE = "agentfleet_app"
NEW_TENANT_TABLES = ("mailboxes", "message_sends", "inbound_replies", "agent_guidance")
JSONB = postgresql.JSONB(astext_type=sa.Text())

# Columns a draft is written from: a change to any of them makes a pending item stale.
STALE_SOURCES = {
    "drafts": ("draft_id", ("subject", "body", "channel", "contact_id")),
    "contacts": (
        "contact_id",
        ("first_name", "last_name", "email", "title", "account_id", "linkedin_url", "enrichment"),
    ),
    "accounts": (
        "account_id",
        ("name", "domain", "industry", "employee_count", "location", "technologies", "enrichment"),
    ),
}

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailboxes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("from_address", sa.String(length=320), nullable=False),
        sa.Column("from_name", sa.String(length=200), nullable=True),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("smtp_host", sa.String(length=253), nullable=False),
        sa.Column("smtp_port", sa.Integer(), nullable=False),
        sa.Column("smtp_security", sa.String(length=10), nullable=False),
        sa.Column("smtp_username", sa.String(length=320), nullable=True),
        sa.Column("encrypted_password", sa.LargeBinary(), nullable=True),
        sa.Column("encryption_key_id", sa.String(length=40), nullable=True),
        sa.Column("daily_cap", sa.Integer(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("imap_host", sa.String(length=253), nullable=True),
        sa.Column("imap_port", sa.Integer(), nullable=True),
        sa.Column("imap_folder", sa.String(length=200), nullable=True),
        sa.Column("poll_state", JSONB, nullable=False),
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
            "smtp_security IN ('starttls', 'tls', 'none')",
            name=op.f("ck_mailboxes_smtp_security_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_mailboxes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailboxes")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_mailboxes_tenant_id_name")),
    )
    op.create_index(op.f("ix_mailboxes_tenant_id"), "mailboxes", ["tenant_id"], unique=False)
    op.create_table(
        "agent_guidance",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("lines", JSONB, nullable=False),
        sa.Column("based_on", JSONB, nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_guidance_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agent_guidance_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_guidance")),
        sa.UniqueConstraint("agent_id", name=op.f("uq_agent_guidance_agent_id")),
    )
    op.create_index(
        op.f("ix_agent_guidance_tenant_id"), "agent_guidance", ["tenant_id"], unique=False
    )
    op.create_table(
        "message_sends",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("draft_id", sa.Uuid(), nullable=False),
        sa.Column("approval_item_id", sa.Uuid(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("mailbox_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("message_id", sa.String(length=400), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("server_response", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
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
            "phase IN ('connecting', 'transmitting')", name=op.f("ck_message_sends_phase_valid")
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'deferred', 'sending', 'sent', 'outcome_unknown', 'ready', 'suppressed', 'failed')",
            name=op.f("ck_message_sends_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_message_sends_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["approval_item_id"],
            ["approval_items.id"],
            name=op.f("fk_message_sends_approval_item_id_approval_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_message_sends_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["drafts.id"],
            name=op.f("fk_message_sends_draft_id_drafts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_message_sends_mailbox_id_mailboxes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_message_sends_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_sends")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_message_sends_dedup_key")),
        sa.UniqueConstraint("draft_id", name=op.f("uq_message_sends_draft_id")),
    )
    op.create_index(op.f("ix_message_sends_agent_id"), "message_sends", ["agent_id"], unique=False)
    op.create_index(
        op.f("ix_message_sends_contact_id"), "message_sends", ["contact_id"], unique=False
    )
    op.create_index(
        "ix_message_sends_due",
        "message_sends",
        ["not_before"],
        unique=False,
        postgresql_where=sa.text("status = 'deferred'"),
        sqlite_where=sa.text("status = 'deferred'"),
    )
    op.create_index(
        "ix_message_sends_mailbox_id_claimed_at",
        "message_sends",
        ["mailbox_id", "claimed_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_message_sends_message_id"), "message_sends", ["message_id"], unique=False
    )
    op.create_index(
        op.f("ix_message_sends_tenant_id"), "message_sends", ["tenant_id"], unique=False
    )
    op.create_index(
        "ix_message_sends_tenant_id_status", "message_sends", ["tenant_id", "status"], unique=False
    )
    op.create_table(
        "inbound_replies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dedup_key", sa.String(length=400), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("send_id", sa.Uuid(), nullable=True),
        sa.Column("draft_id", sa.Uuid(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=1000), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=400), nullable=True),
        sa.Column("in_reply_to", sa.String(length=400), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_time_s", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("classification", JSONB, nullable=False),
        sa.Column("classified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "category IN ('interested', 'not_now', 'unsubscribe', 'out_of_office', 'bounce')",
            name=op.f("ck_inbound_replies_category_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_inbound_replies_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_inbound_replies_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["drafts.id"],
            name=op.f("fk_inbound_replies_draft_id_drafts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["send_id"],
            ["message_sends.id"],
            name=op.f("fk_inbound_replies_send_id_message_sends"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_inbound_replies_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_inbound_replies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_replies")),
        sa.UniqueConstraint(
            "tenant_id", "dedup_key", name=op.f("uq_inbound_replies_tenant_id_dedup_key")
        ),
    )
    op.create_index(
        op.f("ix_inbound_replies_agent_id"), "inbound_replies", ["agent_id"], unique=False
    )
    op.create_index(
        op.f("ix_inbound_replies_contact_id"), "inbound_replies", ["contact_id"], unique=False
    )
    op.create_index(
        op.f("ix_inbound_replies_send_id"), "inbound_replies", ["send_id"], unique=False
    )
    op.create_index(
        op.f("ix_inbound_replies_tenant_id"), "inbound_replies", ["tenant_id"], unique=False
    )
    op.add_column("approval_items", sa.Column("contact_id", sa.Uuid(), nullable=True))
    op.add_column("approval_items", sa.Column("account_id", sa.Uuid(), nullable=True))
    op.add_column("approval_items", sa.Column("opportunity_id", sa.Uuid(), nullable=True))
    op.add_column(
        "approval_items",
        sa.Column("basis", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.alter_column("approval_items", "basis", server_default=None)
    op.add_column(
        "approval_items", sa.Column("stale_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("approval_items", sa.Column("stale_reason", sa.String(length=200), nullable=True))
    op.create_index(
        op.f("ix_approval_items_account_id"), "approval_items", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_approval_items_contact_id"), "approval_items", ["contact_id"], unique=False
    )
    op.create_index(
        op.f("ix_approval_items_opportunity_id"), "approval_items", ["opportunity_id"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_approval_items_account_id_accounts"),
        "approval_items",
        "accounts",
        ["account_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        op.f("fk_approval_items_opportunity_id_opportunities"),
        "approval_items",
        "opportunities",
        ["opportunity_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        op.f("fk_approval_items_contact_id_contacts"),
        "approval_items",
        "contacts",
        ["contact_id"],
        ["id"],
        ondelete="SET NULL",
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
    _create_stale_triggers()


def _create_stale_triggers() -> None:
    # BEFORE UPDATE: mark the pending approval items built from the row stale, whoever made
    # the change (ORM, Core or plain SQL). Versions stay the writers' business.
    op.execute(
        """
        CREATE FUNCTION agentfleet_mark_approvals_stale() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            EXECUTE format(
                'UPDATE approval_items SET stale_at = now(), stale_reason = %L '
                'WHERE %I = $1 AND status = ''pending'' AND stale_at IS NULL',
                TG_ARGV[1], TG_ARGV[0]
            ) USING NEW.id;
            RETURN NEW;
        END
        $$
        """
    )
    for table, (column, watched) in STALE_SOURCES.items():
        old = ", ".join(f"OLD.{name}" for name in watched)
        new = ", ".join(f"NEW.{name}" for name in watched)
        noun = table.removesuffix("s")
        op.execute(
            f"CREATE TRIGGER {table}_mark_approvals_stale BEFORE UPDATE ON {table} "
            f"FOR EACH ROW WHEN (({old}) IS DISTINCT FROM ({new})) "
            f"EXECUTE FUNCTION agentfleet_mark_approvals_stale('{column}', '{noun} changed')"
        )


def downgrade() -> None:
    for table in STALE_SOURCES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_mark_approvals_stale ON {table}")
    op.execute("DROP FUNCTION IF EXISTS agentfleet_mark_approvals_stale()")
    op.drop_constraint(
        op.f("fk_approval_items_contact_id_contacts"), "approval_items", type_="foreignkey"
    )
    op.drop_constraint(
        op.f("fk_approval_items_opportunity_id_opportunities"), "approval_items", type_="foreignkey"
    )
    op.drop_constraint(
        op.f("fk_approval_items_account_id_accounts"), "approval_items", type_="foreignkey"
    )
    op.drop_index(op.f("ix_approval_items_opportunity_id"), table_name="approval_items")
    op.drop_index(op.f("ix_approval_items_contact_id"), table_name="approval_items")
    op.drop_index(op.f("ix_approval_items_account_id"), table_name="approval_items")
    op.drop_column("approval_items", "stale_reason")
    op.drop_column("approval_items", "stale_at")
    op.drop_column("approval_items", "basis")
    op.drop_column("approval_items", "opportunity_id")
    op.drop_column("approval_items", "account_id")
    op.drop_column("approval_items", "contact_id")
    op.drop_index(op.f("ix_inbound_replies_tenant_id"), table_name="inbound_replies")
    op.drop_index(op.f("ix_inbound_replies_send_id"), table_name="inbound_replies")
    op.drop_index(op.f("ix_inbound_replies_contact_id"), table_name="inbound_replies")
    op.drop_index(op.f("ix_inbound_replies_agent_id"), table_name="inbound_replies")
    op.drop_table("inbound_replies")
    op.drop_index("ix_message_sends_tenant_id_status", table_name="message_sends")
    op.drop_index(op.f("ix_message_sends_tenant_id"), table_name="message_sends")
    op.drop_index(op.f("ix_message_sends_message_id"), table_name="message_sends")
    op.drop_index("ix_message_sends_mailbox_id_claimed_at", table_name="message_sends")
    op.drop_index(
        "ix_message_sends_due",
        table_name="message_sends",
        postgresql_where=sa.text("status = 'deferred'"),
        sqlite_where=sa.text("status = 'deferred'"),
    )
    op.drop_index(op.f("ix_message_sends_contact_id"), table_name="message_sends")
    op.drop_index(op.f("ix_message_sends_agent_id"), table_name="message_sends")
    op.drop_table("message_sends")
    op.drop_index(op.f("ix_agent_guidance_tenant_id"), table_name="agent_guidance")
    op.drop_table("agent_guidance")
    op.drop_index(op.f("ix_mailboxes_tenant_id"), table_name="mailboxes")
    op.drop_table("mailboxes")
