"""Task lifecycle: submission, start, completion and failure, each with its event."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shared.agent_types import AgentType
from shared.agents.daily_metrics import record_task_outcome
from shared.db.base import utcnow
from shared.db.models import Task
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from shared.envelope import TaskEnvelope
from shared.errors import Conflict, NotFound
from shared.events import Event, EventType
from shared.lifecycles import TaskPriority, TaskStatus, TaskTrigger, check_transition

__all__ = [
    "TaskSubmission",
    "cancel_task",
    "complete_task",
    "ensure_task",
    "envelope_for",
    "fail_task",
    "get_task",
    "hold_task",
    "list_tasks",
    "lock_running_task",
    "lock_task",
    "start_task",
    "submit_task",
    "task_event",
]


@dataclass(frozen=True)
class TaskSubmission:
    agent_type: AgentType
    task_type: str
    input: dict[str, Any]
    priority: TaskPriority = TaskPriority.MEDIUM
    task_id: uuid.UUID | None = None
    idempotency_key: str | None = None
    trace_id: str | None = None
    trigger: TaskTrigger = TaskTrigger.API
    agent_id: uuid.UUID | None = None

    def request_hash(self) -> str:
        """Hash of what makes two submissions the same request (not the trace id)."""
        canonical = {
            "agent_type": self.agent_type.value,
            "task_type": self.task_type,
            "input": self.input,
            "priority": self.priority.value,
            "task_id": str(self.task_id) if self.task_id else None,
            "agent_id": str(self.agent_id) if self.agent_id else None,
        }
        encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(encoded.encode()).hexdigest()


def task_event(task: Task, event_type: EventType, **payload: Any) -> Event:
    """An event about ``task`` with its type and status in the payload."""
    return Event(
        event_type=event_type,
        tenant_id=task.tenant_id,
        aggregate_type="task",
        aggregate_id=task.id,
        trace_id=task.trace_id,
        payload={
            "agent_type": task.agent_type,
            "task_type": task.task_type,
            "status": task.status,
            **payload,
        },
    )


def envelope_for(task: Task) -> TaskEnvelope:
    return TaskEnvelope(
        task_id=task.id,
        tenant_id=task.tenant_id,
        agent_type=AgentType(task.agent_type),
        task_type=task.task_type,
        priority=TaskPriority(task.priority),
        input=task.input,
        idempotency_key=task.idempotency_key,
        trace_id=task.trace_id,
    )


def submit_task(
    uow: UnitOfWork, tenant_id: uuid.UUID, submission: TaskSubmission
) -> tuple[Task, bool]:
    """Write the task row, its ``task.queued`` event and its dispatch in one transaction.

    Returns ``(task, created)``. A repeat of the same request (same idempotency key or task id,
    same body) returns the existing task; the same key with another body is a conflict.
    """
    request_hash = submission.request_hash()
    task_id = submission.task_id or uuid.uuid4()
    inserted = insert_if_absent(
        uow.session,
        Task,
        {
            "id": task_id,
            "tenant_id": tenant_id,
            "agent_type": submission.agent_type.value,
            "task_type": submission.task_type,
            "status": TaskStatus.PENDING.value,
            "priority": submission.priority.value,
            "trigger": submission.trigger.value,
            "agent_id": submission.agent_id,
            "input": submission.input,
            "idempotency_key": submission.idempotency_key,
            "request_hash": request_hash,
            "trace_id": submission.trace_id,
        },
    )
    if not inserted:
        existing = _find_duplicate(uow, tenant_id, task_id, submission.idempotency_key)
        if existing is None:
            raise Conflict(f"task id {task_id} is already in use")
        if existing.request_hash != request_hash:
            raise Conflict(
                "this Idempotency-Key was already used with a different request"
                if submission.idempotency_key
                else f"task {task_id} already exists with a different request"
            )
        return existing, False
    task = get_task(uow, tenant_id, task_id)
    uow.record(task_event(task, EventType.TASK_QUEUED, trigger=task.trigger))
    uow.dispatch(envelope_for(task))
    uow.commit()
    return task, True


def _find_duplicate(
    uow: UnitOfWork, tenant_id: uuid.UUID, task_id: uuid.UUID, idempotency_key: str | None
) -> Task | None:
    condition = Task.id == task_id
    if idempotency_key is not None:
        condition = sa.or_(condition, Task.idempotency_key == idempotency_key)
    return uow.session.scalars(
        sa.select(Task).where(Task.tenant_id == tenant_id, condition).limit(1)
    ).first()


def list_tasks(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    *,
    agent_id: uuid.UUID | None = None,
    agent_type: AgentType | None = None,
    status: TaskStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Task], int]:
    """Tasks newest first, filtered by agent, agent type and status, with the total."""
    query = sa.select(Task).where(Task.tenant_id == tenant_id)
    if agent_id is not None:
        query = query.where(Task.agent_id == agent_id)
    if agent_type is not None:
        query = query.where(Task.agent_type == agent_type.value)
    if status is not None:
        query = query.where(Task.status == status.value)
    total = uow.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    tasks = uow.session.scalars(
        query.order_by(Task.created_at.desc(), Task.id).limit(limit).offset(offset)
    ).all()
    return list(tasks), total


def get_task(uow: UnitOfWork, tenant_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    task = uow.session.scalars(
        sa.select(Task).where(Task.tenant_id == tenant_id, Task.id == task_id)
    ).first()
    if task is None:
        raise NotFound(f"task {task_id} not found")
    return task


def lock_task(uow: UnitOfWork, tenant_id: uuid.UUID, task_id: uuid.UUID) -> Task | None:
    """The task row, locked for the rest of the transaction (None if it does not exist)."""
    return uow.session.scalars(
        sa.select(Task)
        .where(Task.tenant_id == tenant_id, Task.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def lock_running_task(uow: UnitOfWork, tenant_id: uuid.UUID, task_id: uuid.UUID) -> Task | None:
    """The task row, locked, if it is still in progress; None once it was cancelled, finished
    or held meanwhile (a step then settles nothing)."""
    task = lock_task(uow, tenant_id, task_id)
    if task is None or task.status != TaskStatus.IN_PROGRESS:
        return None
    return task


def ensure_task(uow: UnitOfWork, envelope: TaskEnvelope, *, trigger: TaskTrigger) -> Task | None:
    """The locked task row, created first for a message published straight to a queue.

    Returns None when the task id belongs to nobody visible (another tenant's id, or a clash
    on the idempotency key with a different task).
    """
    task = lock_task(uow, envelope.tenant_id, envelope.task_id)
    if task is not None:
        return task
    created = insert_if_absent(
        uow.session,
        Task,
        {
            "id": envelope.task_id,
            "tenant_id": envelope.tenant_id,
            "agent_type": envelope.agent_type.value,
            "task_type": envelope.task_type,
            "status": TaskStatus.PENDING.value,
            "priority": envelope.priority.value,
            "trigger": trigger.value,
            "input": envelope.input,
            "idempotency_key": envelope.idempotency_key,
            "trace_id": envelope.trace_id,
        },
    )
    task = lock_task(uow, envelope.tenant_id, envelope.task_id)
    if created and task is not None:
        uow.record(task_event(task, EventType.TASK_QUEUED, trigger=task.trigger))
    return task


def start_task(uow: UnitOfWork, task: Task) -> bool:
    """Mark a delivery of ``task``; True if it should run (it is not finished)."""
    status = TaskStatus(task.status)
    if status not in (TaskStatus.PENDING, TaskStatus.IN_PROGRESS):
        return False
    task.attempts += 1
    if status is TaskStatus.PENDING:
        task.status = check_transition(status, TaskStatus.IN_PROGRESS)
        task.started_at = utcnow()
        uow.record(task_event(task, EventType.TASK_STARTED, attempt=task.attempts))
    return True


def complete_task(
    uow: UnitOfWork,
    task: Task,
    output: dict[str, Any],
    *,
    succeeded: int = 1,
    failed: int = 0,
    metrics: Mapping[str, int] | None = None,
) -> None:
    """Finish ``task``; a run over many items passes how many of them succeeded and failed,
    and ``metrics`` adds to the agent's other daily counters (``drafts_created``, …)."""
    task.status = check_transition(TaskStatus(task.status), TaskStatus.COMPLETED)
    task.output = output
    task.error = None
    task.progress = 1.0
    task.items_processed = succeeded + failed
    task.items_succeeded = succeeded
    task.items_failed = failed
    task.completed_at = utcnow()
    uow.record(task_event(task, EventType.TASK_COMPLETED, output=output))
    record_task_outcome(
        uow, task, tasks_completed=1, items_processed=task.items_processed, **(metrics or {})
    )


def cancel_task(uow: UnitOfWork, tenant_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    """Cancel a pending or running task; commits.

    A pending task never runs (the worker skips it); a running one stops at its next step,
    because every step settles only a task that is still in progress.
    """
    task = lock_task(uow, tenant_id, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    task.status = check_transition(TaskStatus(task.status), TaskStatus.CANCELLED)
    task.completed_at = utcnow()
    uow.record(task_event(task, EventType.TASK_CANCELLED))
    uow.commit()
    return task


def fail_task(uow: UnitOfWork, task: Task, error: str) -> None:
    task.status = check_transition(TaskStatus(task.status), TaskStatus.FAILED)
    task.error = error
    task.items_processed += 1
    task.items_failed += 1
    task.completed_at = utcnow()
    uow.record(task_event(task, EventType.TASK_FAILED, error=error))
    record_task_outcome(uow, task, tasks_failed=1)


def hold_task(uow: UnitOfWork, task: Task, until: datetime, reason: str) -> None:
    """Put a started task back to pending, held in Postgres until ``until`` (the scheduler
    dispatches it then); records ``task.deferred``."""
    task.status = check_transition(TaskStatus(task.status), TaskStatus.PENDING)
    task.scheduled_at = until
    task.dispatched_at = None
    uow.record(task_event(task, EventType.TASK_DEFERRED, until=until.isoformat(), reason=reason))
