"""Agents, their tasks (runs) and the messages agents hand each other."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.agent_types import AgentType
from shared.db.base import Base, TenantOwned, Timestamped, enum_check, new_id
from shared.lifecycles import AgentStatus, TaskPriority, TaskStatus, TaskTrigger


class AgentMessageType(StrEnum):
    REQUEST = "request"
    RESPONSE = "response"
    NOTIFICATION = "notification"
    ESCALATION = "escalation"


class Agent(Timestamped, TenantOwned, Base):
    __tablename__ = "agents"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "agent_type", "name"),
        enum_check("agent_type", AgentType),
        enum_check("status", AgentStatus),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agent_type: Mapped[str] = mapped_column(sa.String(30))
    name: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20), default=AgentStatus.IDLE)
    enabled: Mapped[bool] = mapped_column(default=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    schedule: Mapped[str | None] = mapped_column(sa.String(100))
    limits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    approval_required: Mapped[bool] = mapped_column(default=True)
    last_active_at: Mapped[datetime | None]


class Task(Timestamped, TenantOwned, Base):
    """A unit of agent work (a run). Postgres owns its state; the broker only carries it."""

    __tablename__ = "tasks"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "idempotency_key"),
        enum_check("agent_type", AgentType),
        enum_check("status", TaskStatus),
        enum_check("priority", TaskPriority),
        enum_check("trigger", TaskTrigger),
        sa.Index("ix_tasks_tenant_id_status", "tenant_id", "status"),
        sa.Index(
            "ix_tasks_due",
            "scheduled_at",
            postgresql_where=sa.text("status = 'pending' AND dispatched_at IS NULL"),
            sqlite_where=sa.text("status = 'pending' AND dispatched_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    parent_task_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="SET NULL"), index=True
    )
    agent_type: Mapped[str] = mapped_column(sa.String(30))
    task_type: Mapped[str] = mapped_column(sa.String(60))
    status: Mapped[str] = mapped_column(sa.String(20), default=TaskStatus.PENDING)
    priority: Mapped[str] = mapped_column(sa.String(10), default=TaskPriority.MEDIUM)
    trigger: Mapped[str] = mapped_column(sa.String(10), default=TaskTrigger.API)
    input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    items_processed: Mapped[int] = mapped_column(default=0)
    items_succeeded: Mapped[int] = mapped_column(default=0)
    items_failed: Mapped[int] = mapped_column(default=0)
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    attempts: Mapped[int] = mapped_column(default=0)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200))
    request_hash: Mapped[str | None] = mapped_column(sa.String(64))
    trace_id: Mapped[str | None] = mapped_column(sa.String(64))
    scheduled_at: Mapped[datetime | None]
    """When the task is due; a task due later is held in Postgres until the scheduler
    dispatches it (``dispatched_at``)."""
    dispatched_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class AgentMessage(TenantOwned, Base):
    __tablename__ = "agent_messages"
    __table_args__ = (enum_check("message_type", AgentMessageType),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    from_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    to_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    message_type: Mapped[str] = mapped_column(sa.String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())


class AgentGuidance(TenantOwned, Base):
    """What reviewers' recent rejections and edits teach an agent, summarised for its prompts.

    Clearing keeps the row and sets ``cleared_at``: later summaries only read decisions made
    after it.
    """

    __tablename__ = "agent_guidance"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agent_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), unique=True
    )
    lines: Mapped[list[Any]] = mapped_column(default=list)
    based_on: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cleared_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
