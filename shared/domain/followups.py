"""Scheduling a follow-up on a draft: a ``draft_followup`` task held in Postgres until due.

Follow-ups are scheduled when a message is sent (and when a follow-up step is skipped without a
draft). The task is handed to the tenant's follow-up agent as a notification; the scheduler
dispatches it at ``scheduled_at``. ``followup.scheduled`` is recorded with it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from shared.agent_types import AgentType
from shared.agents.runtime_config import pick_agent
from shared.db.base import utcnow
from shared.db.models import AgentMessageType, Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.handoffs import HandOff, hand_off
from shared.events import Event, EventType
from shared.task_inputs import DraftFollowupInput

__all__ = ["FOLLOWUP_TASK_TYPE", "followup_scheduled", "schedule_followup"]

FOLLOWUP_TASK_TYPE = "draft_followup"


def schedule_followup(
    uow: UnitOfWork,
    parent: Task,
    *,
    draft_id: uuid.UUID,
    attempt: int,
    delay_days: int,
    preferred_agent: uuid.UUID | None = None,
    after: datetime | None = None,
) -> Task | None:
    """Hold follow-up number ``attempt`` on ``draft_id`` for ``delay_days`` from ``after`` (the
    send time; now by default); None when this step already scheduled it."""
    agent_id = pick_agent(uow, parent.tenant_id, AgentType.FOLLOWUP, preferred_agent)
    due_at = (after or utcnow()) + timedelta(days=delay_days)
    request = DraftFollowupInput(draft_id=draft_id, attempt=attempt, agent_id=agent_id)
    task = hand_off(
        uow,
        parent,
        HandOff(
            agent_type=AgentType.FOLLOWUP,
            task_type=FOLLOWUP_TASK_TYPE,
            input=request.model_dump(mode="json", exclude_none=True),
            key=f"draft:{draft_id}:followup:{attempt}",
            to_agent_id=agent_id,
            message_type=AgentMessageType.NOTIFICATION,
            due_at=due_at,
        ),
    )
    if task is None:
        return None
    uow.record(
        followup_scheduled(
            parent, task, draft_id=str(draft_id), attempt=attempt, due_at=due_at, agent_id=agent_id
        )
    )
    return task


def followup_scheduled(
    parent: Task,
    task: Task,
    *,
    draft_id: str | None,
    attempt: int,
    due_at: datetime,
    agent_id: uuid.UUID | None,
    **details: str,
) -> Event:
    """``followup.scheduled`` for the held follow-up ``task`` that ``parent`` handed on."""
    return Event(
        event_type=EventType.FOLLOWUP_SCHEDULED,
        tenant_id=parent.tenant_id,
        aggregate_type="task",
        aggregate_id=task.id,
        trace_id=parent.trace_id,
        payload={
            "task_id": str(task.id),
            "draft_id": draft_id,
            "attempt": attempt,
            "due_at": due_at.isoformat(),
            "agent_id": str(agent_id) if agent_id else None,
            "parent_task_id": str(parent.id),
            **details,
        },
    )
