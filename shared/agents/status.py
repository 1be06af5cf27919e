"""What an agent is doing now and how it has done lately (``GET /v1/agents/{id}/status``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from shared.db.base import utcnow
from shared.db.models import ActivityLogEntry, Agent, ApprovalItem, Draft, Task
from shared.db.unit_of_work import UnitOfWork
from shared.errors import NotFound
from shared.lifecycles import ApprovalStatus, TaskStatus

__all__ = ["AgentPerformance", "AgentStatusReport", "agent_status"]

PERFORMANCE_WINDOW = timedelta(days=7)
CURRENT_TASKS_SHOWN = 20
ACTIVITY_SHOWN = 10


@dataclass(frozen=True)
class AgentPerformance:
    window_days: int
    tasks_completed: int
    tasks_failed: int
    success_rate: float | None
    drafts_created: int
    approvals_approved: int
    approvals_rejected: int


@dataclass(frozen=True)
class AgentStatusReport:
    agent: Agent
    current_tasks: list[Task]
    pending_approvals: int
    recent_activity: list[ActivityLogEntry]
    performance: AgentPerformance


def _count(
    uow: UnitOfWork, model: type[Task | Draft | ApprovalItem], *where: sa.ColumnElement[bool]
) -> int:
    return uow.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def _performance(uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> AgentPerformance:
    since = utcnow() - PERFORMANCE_WINDOW
    mine = (Task.tenant_id == tenant_id, Task.agent_id == agent_id, Task.completed_at >= since)
    completed = _count(uow, Task, *mine, Task.status == TaskStatus.COMPLETED.value)
    failed = _count(uow, Task, *mine, Task.status == TaskStatus.FAILED.value)
    drafts = _count(
        uow,
        Draft,
        Draft.tenant_id == tenant_id,
        Draft.agent_id == agent_id,
        Draft.created_at >= since,
    )
    reviewed = (
        ApprovalItem.tenant_id == tenant_id,
        ApprovalItem.agent_id == agent_id,
        sa.func.coalesce(ApprovalItem.reviewed_at, ApprovalItem.updated_at) >= since,
    )
    approved = _count(
        uow,
        ApprovalItem,
        *reviewed,
        ApprovalItem.status.in_([ApprovalStatus.APPROVED.value, ApprovalStatus.EDITED.value]),
    )
    rejected = _count(
        uow, ApprovalItem, *reviewed, ApprovalItem.status == ApprovalStatus.REJECTED.value
    )
    settled = completed + failed
    return AgentPerformance(
        window_days=PERFORMANCE_WINDOW.days,
        tasks_completed=completed,
        tasks_failed=failed,
        success_rate=round(completed / settled, 4) if settled else None,
        drafts_created=drafts,
        approvals_approved=approved,
        approvals_rejected=rejected,
    )


def agent_status(uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> AgentStatusReport:
    """Current tasks, pending approvals, recent activity and 7-day performance of one agent."""
    agent = uow.session.scalars(
        sa.select(Agent).where(Agent.tenant_id == tenant_id, Agent.id == agent_id)
    ).first()
    if agent is None:
        raise NotFound(f"agent {agent_id} not found")
    current = uow.session.scalars(
        sa.select(Task)
        .where(
            Task.tenant_id == tenant_id,
            Task.agent_id == agent_id,
            Task.status.in_([TaskStatus.PENDING.value, TaskStatus.IN_PROGRESS.value]),
        )
        .order_by(Task.created_at.desc(), Task.id)
        .limit(CURRENT_TASKS_SHOWN)
    ).all()
    pending = _count(
        uow,
        ApprovalItem,
        ApprovalItem.tenant_id == tenant_id,
        ApprovalItem.agent_id == agent_id,
        ApprovalItem.status == ApprovalStatus.PENDING.value,
    )
    activity = uow.session.scalars(
        sa.select(ActivityLogEntry)
        .where(ActivityLogEntry.tenant_id == tenant_id, ActivityLogEntry.agent_id == agent_id)
        .order_by(ActivityLogEntry.created_at.desc(), ActivityLogEntry.id)
        .limit(ACTIVITY_SHOWN)
    ).all()
    return AgentStatusReport(
        agent=agent,
        current_tasks=list(current),
        pending_approvals=pending,
        recent_activity=list(activity),
        performance=_performance(uow, tenant_id, agent_id),
    )
