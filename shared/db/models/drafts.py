"""Drafts written by agents and the approval items people decide on."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, TenantOwned, Timestamped, enum_check, new_id
from shared.lifecycles import ApprovalStatus, DraftStatus, TaskPriority


class Channel(StrEnum):
    EMAIL = "email"
    LINKEDIN = "linkedin"
    OTHER = "other"


class ApprovalItemType(StrEnum):
    EMAIL_DRAFT = "email_draft"
    LINKEDIN_DRAFT = "linkedin_draft"
    MESSAGE_DRAFT = "message_draft"
    FOLLOWUP_DRAFT = "followup_draft"
    LEAD_IMPORT = "lead_import"


class Draft(Timestamped, TenantOwned, Base):
    """One draft per task step (the dedup key ``(task_id, step)``)."""

    __tablename__ = "drafts"
    __table_args__ = (
        sa.UniqueConstraint("task_id", "step"),
        enum_check("channel", Channel),
        enum_check("status", DraftStatus),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    task_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(sa.String(60))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("opportunities.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(sa.String(20))
    subject: Mapped[str | None] = mapped_column(sa.String(500))
    body: Mapped[str] = mapped_column(sa.Text)
    personalization: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default=DraftStatus.DRAFT)
    prompt_version: Mapped[str | None] = mapped_column(sa.String(40))
    model: Mapped[str | None] = mapped_column(sa.String(100))
    model_parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    input_hash: Mapped[str | None] = mapped_column(sa.String(64))
    version: Mapped[int] = mapped_column(default=1)
    sent_at: Mapped[datetime | None]


class ApprovalItem(Timestamped, TenantOwned, Base):
    __tablename__ = "approval_items"
    __table_args__ = (
        sa.UniqueConstraint("draft_id"),
        enum_check("item_type", ApprovalItemType),
        enum_check("status", ApprovalStatus),
        enum_check("priority", TaskPriority),
        sa.Index("ix_approval_items_tenant_id_status", "tenant_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    agent_type: Mapped[str] = mapped_column(sa.String(30))
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    draft_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("drafts.id", ondelete="CASCADE")
    )
    item_type: Mapped[str] = mapped_column(sa.String(30))
    priority: Mapped[str] = mapped_column(sa.String(10), default=TaskPriority.MEDIUM)
    title: Mapped[str] = mapped_column(sa.String(500))
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default=ApprovalStatus.PENDING)
    reviewer_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    reviewer_key_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("api_keys.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None]
    edited_content: Mapped[dict[str, Any] | None]
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)
    expires_at: Mapped[datetime | None]
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("opportunities.id", ondelete="SET NULL"), index=True
    )
    basis: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Versions of the draft, contact and account the item was built from (the stale check)."""
    stale_at: Mapped[datetime | None]
    stale_reason: Mapped[str | None] = mapped_column(sa.String(200))
    version: Mapped[int] = mapped_column(default=1)
