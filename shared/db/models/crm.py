"""Accounts, contacts, opportunities/events and the suppression list: the context drafts use."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, TenantOwned, Timestamped, enum_check, new_id


class OutreachStatus(StrEnum):
    NEW = "new"
    QUEUED = "queued"
    CONTACTED = "contacted"
    REPLIED = "replied"
    BOUNCED = "bounced"
    UNSUBSCRIBED = "unsubscribed"
    DO_NOT_CONTACT = "do_not_contact"


class OpportunityKind(StrEnum):
    EVENT = "event"
    OPPORTUNITY = "opportunity"
    SIGNAL = "signal"


class SuppressionReason(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    MANUAL = "manual"


class Account(Timestamped, TenantOwned, Base):
    __tablename__ = "accounts"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "domain"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(300))
    domain: Mapped[str | None] = mapped_column(sa.String(253))
    industry: Mapped[str | None] = mapped_column(sa.String(200))
    employee_count: Mapped[int | None]
    annual_revenue_usd: Mapped[int | None] = mapped_column(sa.BigInteger)
    location: Mapped[str | None] = mapped_column(sa.String(300))
    technologies: Mapped[list[Any]] = mapped_column(default=list)
    enrichment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score: Mapped[float | None] = mapped_column(sa.Float)
    score_explanation: Mapped[dict[str, Any] | None]
    external_ids: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)


class Contact(Timestamped, TenantOwned, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "email"),
        enum_check("outreach_status", OutreachStatus),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str | None] = mapped_column(sa.String(100))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    title: Mapped[str | None] = mapped_column(sa.String(200))
    seniority: Mapped[str | None] = mapped_column(sa.String(50))
    department: Mapped[str | None] = mapped_column(sa.String(100))
    linkedin_url: Mapped[str | None] = mapped_column(sa.String(500))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    enrichment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score: Mapped[float | None] = mapped_column(sa.Float)
    outreach_status: Mapped[str] = mapped_column(sa.String(20), default=OutreachStatus.NEW)
    last_contacted_at: Mapped[datetime | None]
    external_ids: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)


class Opportunity(Timestamped, TenantOwned, Base):
    """A sales opportunity or a dated event (conference, launch, funding) worth reaching out on."""

    __tablename__ = "opportunities"
    __table_args__ = (enum_check("kind", OpportunityKind),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20), default=OpportunityKind.OPPORTUNITY)
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str | None] = mapped_column(sa.Text)
    event_date: Mapped[datetime | None]
    location: Mapped[str | None] = mapped_column(sa.String(300))
    url: Mapped[str | None] = mapped_column(sa.String(1000))
    source: Mapped[str | None] = mapped_column(sa.String(100))
    relevance_score: Mapped[float | None] = mapped_column(sa.Float)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)


class SuppressedAddress(TenantOwned, Base):
    __tablename__ = "suppression_list"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "email"),
        enum_check("reason", SuppressionReason),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(sa.String(320))
    reason: Mapped[str] = mapped_column(sa.String(20))
    source: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
