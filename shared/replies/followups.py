"""Stopping a contact's pending follow-ups when a reply arrives, and resuming them when the
reply turns out to be an auto-response (out of office, a soft bounce).

A stopped follow-up is cancelled, not deleted, and remembered on the reply; resuming writes a
new held ``draft_followup`` task per stopped one, with an id derived from the reply, so a
repeated classification writes nothing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from shared.agent_types import AgentType
from shared.db.base import utcnow
from shared.db.models import (
    AgentMessageType,
    ApprovalItem,
    ApprovalItemType,
    Draft,
    Task,
)
from shared.db.unit_of_work import UnitOfWork
from shared.domain.followups import FOLLOWUP_TASK_TYPE, followup_scheduled
from shared.domain.handoffs import HandOff, hand_off
from shared.domain.tasks import task_event
from shared.events import EventType
from shared.lifecycles import ApprovalStatus, TaskPriority, TaskStatus, check_transition

__all__ = [
    "NO_DATE_DELAY",
    "RESUME_HOUR_UTC",
    "StoppedFollowup",
    "resume_at",
    "resume_followups",
    "stop_pending_followups",
]

RESUME_HOUR_UTC = 9
NO_DATE_DELAY = timedelta(days=7)
"""How far an out-of-office reply without a return date pushes a follow-up back."""


@dataclass(frozen=True)
class StoppedFollowup:
    """A follow-up cancelled by a reply: enough to write it again later."""

    task_id: uuid.UUID
    input: dict[str, Any]
    scheduled_at: datetime | None
    agent_id: uuid.UUID | None
    priority: str

    @property
    def attempt(self) -> int:
        return int(self.input.get("attempt", 1))

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": str(self.task_id),
            "draft_id": self.input.get("draft_id"),
            "attempt": self.attempt,
            "scheduled_at": self.scheduled_at.isoformat() if self.scheduled_at else None,
            "agent_id": str(self.agent_id) if self.agent_id else None,
            "priority": self.priority,
            "input": self.input,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StoppedFollowup:
        scheduled = raw.get("scheduled_at")
        agent = raw.get("agent_id")
        return cls(
            task_id=uuid.UUID(str(raw["task_id"])),
            input=dict(raw["input"]),
            scheduled_at=datetime.fromisoformat(scheduled) if scheduled else None,
            agent_id=uuid.UUID(agent) if agent else None,
            priority=str(raw.get("priority") or "medium"),
        )


def stop_pending_followups(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    contact_id: uuid.UUID,
    *,
    reason: str,
    reply_id: uuid.UUID,
) -> list[StoppedFollowup]:
    """Cancel the contact's pending ``draft_followup`` tasks (each with ``task.cancelled``)."""
    draft_ids = [
        str(draft_id)
        for draft_id in uow.session.scalars(
            sa.select(Draft.id).where(Draft.tenant_id == tenant_id, Draft.contact_id == contact_id)
        )
    ]
    if not draft_ids:
        return []
    tasks = uow.session.scalars(
        sa.select(Task)
        .where(
            Task.tenant_id == tenant_id,
            Task.agent_type == AgentType.FOLLOWUP.value,
            Task.task_type == FOLLOWUP_TASK_TYPE,
            Task.status == TaskStatus.PENDING.value,
            Task.input["draft_id"].as_string().in_(draft_ids),
        )
        .order_by(Task.scheduled_at, Task.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    stopped = []
    now = utcnow()
    for task in tasks:
        stopped.append(
            StoppedFollowup(
                task_id=task.id,
                input=dict(task.input),
                scheduled_at=task.scheduled_at,
                agent_id=task.agent_id,
                priority=task.priority,
            )
        )
        task.status = check_transition(TaskStatus.PENDING, TaskStatus.CANCELLED)
        task.error = reason
        task.completed_at = now
        uow.record(
            task_event(task, EventType.TASK_CANCELLED, reason=reason, reply_id=str(reply_id))
        )
    _flag_waiting_followup_drafts(uow, tenant_id, contact_id, reason)
    return stopped


def _flag_waiting_followup_drafts(
    uow: UnitOfWork, tenant_id: uuid.UUID, contact_id: uuid.UUID, reason: str
) -> None:
    """Follow-up drafts still waiting for a reviewer are marked stale, so nobody approves them
    without seeing the reply (the sender would not send them anyway)."""
    uow.session.execute(
        sa.update(ApprovalItem)
        .where(
            ApprovalItem.tenant_id == tenant_id,
            ApprovalItem.contact_id == contact_id,
            ApprovalItem.item_type == ApprovalItemType.FOLLOWUP_DRAFT.value,
            ApprovalItem.status == ApprovalStatus.PENDING.value,
            ApprovalItem.stale_at.is_(None),
        )
        .values(stale_at=utcnow(), stale_reason=reason[:200])
        .execution_options(synchronize_session=False)
    )


def resume_at(original: datetime | None, back_on: date | None, *, now: datetime) -> datetime:
    """When a follow-up stopped by an out-of-office reply is due again: the day after the
    contact is back, at 09:00 UTC, but never before it was first due; a week after that
    without a return date."""
    base = original or now
    if back_on is None:
        return base + NO_DATE_DELAY
    after = datetime.combine(back_on + timedelta(days=1), time(RESUME_HOUR_UTC), tzinfo=UTC)
    return max(base, after)


def resume_followups(
    uow: UnitOfWork,
    parent: Task,
    reply_id: uuid.UUID,
    due: list[tuple[StoppedFollowup, datetime]],
) -> list[Task]:
    """A new held follow-up for each stopped one, due at its time (with ``followup.scheduled``);
    a follow-up this reply already resumed is not written again."""
    resumed = []
    for stopped, due_at in due:
        task = hand_off(
            uow,
            parent,
            HandOff(
                agent_type=AgentType.FOLLOWUP,
                task_type=FOLLOWUP_TASK_TYPE,
                input=stopped.input,
                key=f"reply:{reply_id}:resume:{stopped.task_id}",
                to_agent_id=stopped.agent_id,
                message_type=AgentMessageType.NOTIFICATION,
                priority=TaskPriority(stopped.priority),
                due_at=due_at,
            ),
        )
        if task is None:
            continue
        resumed.append(task)
        uow.record(
            followup_scheduled(
                parent,
                task,
                draft_id=stopped.input.get("draft_id"),
                attempt=stopped.attempt,
                due_at=due_at,
                agent_id=stopped.agent_id,
                resumes_task_id=str(stopped.task_id),
                reply_id=str(reply_id),
            )
        )
    return resumed
