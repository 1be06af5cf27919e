"""Replaying a dead-lettered task message through the outbox, never straight to the broker.

A message the worker refused as invalid left its task ``failed`` with an error starting
``invalid message:``. Once the cause is fixed (the agent it names now exists, say), a replay
puts the task back to ``pending`` and writes a fresh dispatch in one transaction; the caller
commits and only then acknowledges the dead letter. A crash in between replays the message a
second time, which is harmless: the worker skips a task that has finished.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from shared.db.models import Task, Tenant
from shared.db.unit_of_work import UnitOfWork
from shared.domain.tasks import envelope_for, lock_task, task_event
from shared.envelope import TaskEnvelope, parse_envelope
from shared.errors import InvalidMessage, NotFound
from shared.events import EventType
from shared.lifecycles import TaskStatus, check_replay
from shared.task_inputs import InputInvalid, validate_task_input

__all__ = [
    "INVALID_MESSAGE_ERROR",
    "Replay",
    "ReplayOutcome",
    "replay_dead_letter",
    "replay_dedup_key",
    "replayable_envelope",
]

INVALID_MESSAGE_ERROR = "invalid message:"
"""How the worker's error on a task starts when it refused the task's message as invalid."""


class ReplayOutcome(StrEnum):
    RESET = "reset"
    """The task had failed as an invalid message: back to pending, dispatched again."""
    DISPATCHED = "dispatched"
    """The task is pending or running (or has no row yet): dispatched again as it is."""
    FINISHED = "finished"
    """Completed, cancelled or failed for another reason: there is nothing to run again."""


@dataclass(frozen=True)
class Replay:
    outcome: ReplayOutcome
    task_status: str | None
    """The task's status before the replay (None when it had no row)."""

    @property
    def dispatched(self) -> bool:
        return self.outcome is not ReplayOutcome.FINISHED


def replayable_envelope(queue: str, argument: object) -> TaskEnvelope:
    """The task envelope a dead letter of ``queue`` carries, if a worker of that queue could run
    it: a valid envelope of the queue's agent type with a valid input; InvalidMessage otherwise."""
    envelope = parse_envelope(argument)
    if envelope.agent_type.value != queue:
        raise InvalidMessage(
            f"agent type {envelope.agent_type.value!r} does not belong on queue {queue!r}"
        )
    try:
        validate_task_input(envelope.agent_type, envelope.task_type, envelope.input)
    except InputInvalid as exc:
        raise InvalidMessage(str(exc)) from None
    return envelope


def replay_dedup_key(task_id: uuid.UUID) -> str:
    """A dispatch key of its own for every replay, so no earlier dispatch row blocks it."""
    return f"task:{task_id}:replay:{uuid.uuid4()}"


def replay_dead_letter(uow: UnitOfWork, envelope: TaskEnvelope) -> Replay:
    """Reset and dispatch the envelope's task in ``uow`` (the caller commits, then acknowledges
    the dead letter); NotFound when its tenant does not exist."""
    tenant = uow.session.scalar(sa.select(Tenant.id).where(Tenant.id == envelope.tenant_id))
    if tenant is None:
        raise NotFound(f"tenant {envelope.tenant_id} does not exist")
    task = lock_task(uow, envelope.tenant_id, envelope.task_id)
    if task is None:
        # The worker creates the row, as for any message published straight to a queue.
        uow.dispatch(envelope, dedup_key=replay_dedup_key(envelope.task_id))
        return Replay(ReplayOutcome.DISPATCHED, None)
    status = TaskStatus(task.status)
    if status in (TaskStatus.PENDING, TaskStatus.IN_PROGRESS):
        uow.dispatch(envelope_for(task), dedup_key=replay_dedup_key(task.id))
        return Replay(ReplayOutcome.DISPATCHED, status.value)
    if status is TaskStatus.FAILED and (task.error or "").startswith(INVALID_MESSAGE_ERROR):
        _reset(uow, task)
        uow.dispatch(envelope_for(task), dedup_key=replay_dedup_key(task.id))
        return Replay(ReplayOutcome.RESET, status.value)
    return Replay(ReplayOutcome.FINISHED, status.value)


def _reset(uow: UnitOfWork, task: Task) -> None:
    previous_error = task.error
    task.status = check_replay(TaskStatus(task.status))
    task.error = None
    task.completed_at = None
    uow.record(
        task_event(task, EventType.TASK_QUEUED, trigger=task.trigger, replayed=previous_error)
    )
