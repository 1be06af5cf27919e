"""Tasks that stopped moving, and dispatching them again through the outbox.

Stuck means pending and due (no ``scheduled_at`` in the future) or in progress, with no change
for longer than a threshold: its message was lost, or the worker running it died. A fresh
dispatch is safe because the worker takes a redelivered message for an unfinished task again
(an in-progress one included) and skips a finished one.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.agent_types import AgentType
from shared.db.models import OutboxKind, OutboxMessage, Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.tasks import envelope_for, lock_task
from shared.lifecycles import TaskStatus

__all__ = [
    "STUCK_STATUSES",
    "Redispatch",
    "StuckTask",
    "StuckTaskQuery",
    "find_stuck_tasks",
    "redispatch_stuck_task",
]

STUCK_STATUSES = (TaskStatus.PENDING, TaskStatus.IN_PROGRESS)


@dataclass(frozen=True)
class StuckTaskQuery:
    """Which tasks count as stuck at ``now``."""

    now: datetime
    older_than: timedelta
    statuses: Collection[TaskStatus] = STUCK_STATUSES
    agent_type: AgentType | None = None
    tenant_id: uuid.UUID | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        cutoff = self.now - self.older_than
        by_status = {
            TaskStatus.PENDING: sa.and_(
                Task.status == TaskStatus.PENDING.value,
                sa.or_(Task.scheduled_at.is_(None), Task.scheduled_at <= self.now),
            ),
            TaskStatus.IN_PROGRESS: Task.status == TaskStatus.IN_PROGRESS.value,
        }
        wanted = [by_status[status] for status in self.statuses]
        conditions = [sa.or_(*wanted), Task.updated_at < cutoff]
        if self.agent_type is not None:
            conditions.append(Task.agent_type == self.agent_type.value)
        if self.tenant_id is not None:
            conditions.append(Task.tenant_id == self.tenant_id)
        return conditions


@dataclass(frozen=True)
class StuckTask:
    tenant_id: uuid.UUID
    task_id: uuid.UUID
    agent_type: str
    task_type: str
    status: str
    updated_at: datetime


def find_stuck_tasks(session: Session, query: StuckTaskQuery, *, limit: int) -> list[StuckTask]:
    """Stuck tasks, longest unchanged first; ``session`` must see every tenant it should search
    (the schema owner's, for all of them)."""
    rows = session.execute(
        sa.select(
            Task.tenant_id, Task.id, Task.agent_type, Task.task_type, Task.status, Task.updated_at
        )
        .where(*query.conditions())
        .order_by(Task.updated_at, Task.id)
        .limit(limit)
    ).all()
    return [StuckTask(*row) for row in rows]


class Redispatch(StrEnum):
    DISPATCHED = "dispatched"
    WAITING_IN_OUTBOX = "waiting_in_outbox"
    """A dispatch of the task has not been published yet (a deferral, or the relay is down)."""
    MOVED_ON = "moved_on"
    """The task changed since it was found: it is no longer stuck."""


def redispatch_stuck_task(
    uow: UnitOfWork, tenant_id: uuid.UUID, task_id: uuid.UUID, query: StuckTaskQuery
) -> Redispatch:
    """Lock the task and, if it is still stuck and no dispatch of it waits in the outbox, write
    a fresh dispatch in ``uow`` (the caller commits, or rolls back for a dry run)."""
    task = lock_task(uow, tenant_id, task_id)
    if task is None or not _still_stuck(uow, task_id, query):
        return Redispatch.MOVED_ON
    if _dispatch_waiting(uow, tenant_id, task_id):
        return Redispatch.WAITING_IN_OUTBOX
    task.dispatched_at = query.now
    uow.dispatch(envelope_for(task), dedup_key=f"task:{task.id}:redispatch:{uuid.uuid4()}")
    return Redispatch.DISPATCHED


def _still_stuck(uow: UnitOfWork, task_id: uuid.UUID, query: StuckTaskQuery) -> bool:
    found = uow.session.scalar(sa.select(Task.id).where(Task.id == task_id, *query.conditions()))
    return found is not None


def _dispatch_waiting(uow: UnitOfWork, tenant_id: uuid.UUID, task_id: uuid.UUID) -> bool:
    waiting = uow.session.scalar(
        sa.select(sa.literal(True))
        .where(
            OutboxMessage.tenant_id == tenant_id,
            OutboxMessage.kind == OutboxKind.TASK.value,
            OutboxMessage.published_at.is_(None),
            OutboxMessage.payload["task_id"].as_string() == str(task_id),
        )
        .limit(1)
    )
    return bool(waiting)
