"""Activity log, daily metrics, provider credentials and usage, and the transactional outbox."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, TenantOwned, Timestamped, enum_check, new_id


class ActorKind(StrEnum):
    AGENT = "agent"
    USER = "user"
    SYSTEM = "system"


class Provider(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"
    APOLLO = "apollo"


class UsageOutcome(StrEnum):
    OK = "ok"
    ERROR = "error"
    RATE_LIMITED = "rate_limited"


class OutboxKind(StrEnum):
    TASK = "task"
    EVENT = "event"


class ActivityLogEntry(TenantOwned, Base):
    __tablename__ = "activity_log"
    __table_args__ = (enum_check("actor_kind", ActorKind),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    actor_kind: Mapped[str] = mapped_column(sa.String(10))
    actor_id: Mapped[str | None] = mapped_column(sa.String(100))
    action: Mapped[str] = mapped_column(sa.String(100))
    entity_type: Mapped[str | None] = mapped_column(sa.String(50))
    entity_id: Mapped[uuid.UUID | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now(), index=True)


class DailyMetric(TenantOwned, Base):
    """Counters of one day: per agent, or for work of that agent type done by no agent."""

    __tablename__ = "daily_metrics"
    __table_args__ = (
        sa.UniqueConstraint(
            "tenant_id",
            "day",
            "agent_type",
            "agent_id",
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    day: Mapped[date] = mapped_column(sa.Date)
    agent_type: Mapped[str] = mapped_column(sa.String(30))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    tasks_completed: Mapped[int] = mapped_column(default=0)
    tasks_failed: Mapped[int] = mapped_column(default=0)
    drafts_created: Mapped[int] = mapped_column(default=0)
    approvals_approved: Mapped[int] = mapped_column(default=0)
    approvals_rejected: Mapped[int] = mapped_column(default=0)
    messages_sent: Mapped[int] = mapped_column(default=0)
    responses: Mapped[int] = mapped_column(default=0)
    response_time_s_total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    opportunities_identified: Mapped[int] = mapped_column(default=0)
    items_processed: Mapped[int] = mapped_column(default=0)
    tokens_in: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    tokens_out: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(sa.Numeric(14, 6), default=Decimal(0))


class ProviderCredential(Timestamped, TenantOwned, Base):
    """A tenant's own provider key, encrypted at rest; only a short hint is kept in clear."""

    __tablename__ = "provider_credentials"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "provider", "name"),
        enum_check("provider", Provider),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    provider: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(100), default="default")
    encrypted_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    encryption_key_id: Mapped[str] = mapped_column(sa.String(40))
    key_hint: Mapped[str] = mapped_column(sa.String(8))
    limits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    verified_at: Mapped[datetime | None]


class ProviderUsage(TenantOwned, Base):
    """One row per billed provider call; ``dedup_key`` is ``(task, step)`` so a retry bills once."""

    __tablename__ = "provider_usage"
    __table_args__ = (
        enum_check("provider", Provider),
        enum_check("outcome", UsageOutcome),
        sa.Index("ix_provider_usage_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="SET NULL"), index=True
    )
    draft_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("drafts.id", ondelete="SET NULL"), index=True
    )
    provider: Mapped[str] = mapped_column(sa.String(20))
    model: Mapped[str | None] = mapped_column(sa.String(100))
    operation: Mapped[str] = mapped_column(sa.String(60))
    tokens_in: Mapped[int] = mapped_column(default=0)
    tokens_out: Mapped[int] = mapped_column(default=0)
    credits: Mapped[int] = mapped_column(default=0)
    latency_ms: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str] = mapped_column(sa.String(20))
    cost_usd: Mapped[Decimal] = mapped_column(sa.Numeric(14, 6), default=Decimal(0))
    dedup_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())


class OutboxMessage(TenantOwned, Base):
    """A message waiting for the relay: a task for an agent queue or an event for the exchange.

    The relay claims rows by setting ``claimed_until`` (a lease) and marks them
    ``published_at`` only after the broker confirmed them.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        enum_check("kind", OutboxKind),
        sa.Index(
            "ix_outbox_unpublished",
            "available_at",
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(sa.String(10))
    destination: Mapped[str] = mapped_column(sa.String(200))
    message_id: Mapped[uuid.UUID] = mapped_column(default=new_id)
    payload: Mapped[dict[str, Any]]
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    priority: Mapped[int] = mapped_column(default=0)
    dedup_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    available_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[uuid.UUID | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    published_at: Mapped[datetime | None]
