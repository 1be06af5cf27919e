"""Inbound replies to sent messages and how they were classified."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, TenantOwned, enum_check, new_id
from shared.lifecycles import ReplyCategory


class InboundReply(TenantOwned, Base):
    """One reply, recorded once per ``(tenant, dedup_key)`` (its Message-ID, or a content hash)."""

    __tablename__ = "inbound_replies"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "dedup_key"),
        enum_check("category", ReplyCategory),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dedup_key: Mapped[str] = mapped_column(sa.String(400))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    send_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("message_sends.id", ondelete="SET NULL"), index=True
    )
    draft_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("drafts.id", ondelete="SET NULL")
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(sa.String(20), default="api")
    from_address: Mapped[str | None] = mapped_column(sa.String(320))
    subject: Mapped[str | None] = mapped_column(sa.String(1000))
    body: Mapped[str] = mapped_column(sa.Text)
    message_id: Mapped[str | None] = mapped_column(sa.String(400))
    in_reply_to: Mapped[str | None] = mapped_column(sa.String(400))
    received_at: Mapped[datetime]
    response_time_s: Mapped[int | None]
    category: Mapped[str | None] = mapped_column(sa.String(20))
    classification: Mapped[dict[str, Any]] = mapped_column(default=dict)
    classified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
