"""Mailboxes messages are sent from, and one send per approved draft (``send:{draft_id}``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, TenantOwned, Timestamped, enum_check, new_id
from shared.lifecycles import SendStatus


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


class SendPhase(StrEnum):
    """How far a claimed send got; decides what a later delivery may do after a crash."""

    CONNECTING = "connecting"
    """Committed before the SMTP conversation: nothing was handed over yet."""
    TRANSMITTING = "transmitting"
    """Committed just before the message data: the server may have accepted it."""


class Mailbox(Timestamped, TenantOwned, Base):
    """A sending identity with its SMTP server and daily cap (and, optionally, an IMAP inbox)."""

    __tablename__ = "mailboxes"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "name"),
        enum_check("smtp_security", SmtpSecurity),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(100))
    from_address: Mapped[str] = mapped_column(sa.String(320))
    from_name: Mapped[str | None] = mapped_column(sa.String(200))
    reply_to: Mapped[str | None] = mapped_column(sa.String(320))
    smtp_host: Mapped[str] = mapped_column(sa.String(253))
    smtp_port: Mapped[int] = mapped_column(default=587)
    smtp_security: Mapped[str] = mapped_column(sa.String(10), default=SmtpSecurity.STARTTLS)
    smtp_username: Mapped[str | None] = mapped_column(sa.String(320))
    encrypted_password: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    encryption_key_id: Mapped[str | None] = mapped_column(sa.String(40))
    daily_cap: Mapped[int] = mapped_column(default=30)
    is_default: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    imap_host: Mapped[str | None] = mapped_column(sa.String(253))
    imap_port: Mapped[int | None]
    imap_folder: Mapped[str | None] = mapped_column(sa.String(200))
    poll_state: Mapped[dict[str, Any]] = mapped_column(default=dict)


class MessageSend(Timestamped, TenantOwned, Base):
    """The one delivery of an approved draft; ``dedup_key`` is ``send:{draft_id}``.

    A send is marked ``sending`` and committed before the SMTP conversation, so a sender that
    dies mid-way leaves a row that says so, and no later delivery sends blindly.
    """

    __tablename__ = "message_sends"
    __table_args__ = (
        enum_check("status", SendStatus),
        enum_check("phase", SendPhase),
        sa.Index("ix_message_sends_tenant_id_status", "tenant_id", "status"),
        sa.Index("ix_message_sends_mailbox_id_claimed_at", "mailbox_id", "claimed_at"),
        sa.Index(
            "ix_message_sends_due",
            "not_before",
            postgresql_where=sa.text("status = 'deferred'"),
            sqlite_where=sa.text("status = 'deferred'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    dedup_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    draft_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("drafts.id", ondelete="CASCADE"), unique=True
    )
    approval_item_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("approval_items.id", ondelete="SET NULL")
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    mailbox_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("mailboxes.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(sa.String(20))
    to_address: Mapped[str | None] = mapped_column(sa.String(320))
    from_address: Mapped[str | None] = mapped_column(sa.String(320))
    message_id: Mapped[str] = mapped_column(sa.String(400), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default=SendStatus.QUEUED)
    phase: Mapped[str | None] = mapped_column(sa.String(20))
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    server_response: Mapped[str | None] = mapped_column(sa.Text)
    resolved_by: Mapped[str | None] = mapped_column(sa.String(100))
    version: Mapped[int] = mapped_column(default=1)
