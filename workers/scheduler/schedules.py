"""Cron schedules: each enabled, working agent's latest due slot becomes one scheduled run.

Only ``lead_source`` agents run on a schedule: their task needs nothing but the agent. The
other types work on one record (an account, a contact, a draft) that a schedule cannot name,
so when their schedule comes due the activity log records a ``schedule.skipped`` entry with
the reason, once per slot, instead of a run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog

from shared.agent_types import TASK_TYPES, AgentType
from shared.db.database import Database
from shared.db.models import ActivityLogEntry, ActorKind, Agent, Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.tasks import TaskSubmission, submit_task
from shared.errors import Conflict
from shared.lifecycles import TaskTrigger
from shared.task_inputs import validate_task_input
from workers.scheduler.claims import SCHEDULABLE_STATUSES
from workers.scheduler.slots import latest_slot, schedule_key, scheduled_task_id

__all__ = ["SCHEDULED_AGENT_TYPES", "ScheduleOutcome", "run_due_schedules"]

logger = structlog.get_logger(__name__)

SCHEDULED_AGENT_TYPES = frozenset({AgentType.LEAD_SOURCE})
FIRED = "schedule.fired"
SKIPPED = "schedule.skipped"
ACTOR_ID = "scheduler"


@dataclass(frozen=True)
class _Due:
    agent_id: uuid.UUID
    agent_type: AgentType
    schedule: str
    slot: datetime

    @property
    def slot_iso(self) -> str:
        return self.slot.isoformat()


@dataclass(frozen=True)
class ScheduleOutcome:
    fired: int = 0
    skipped: int = 0


def run_due_schedules(db: Database, tenant_id: uuid.UUID, now: datetime) -> ScheduleOutcome:
    """Fire (or record the skip of) every due slot of the tenant's agents, each exactly once."""
    with db.unit_of_work(tenant_id) as uow:
        due = _due_slots(uow, tenant_id, now)
        if not due:
            return ScheduleOutcome()
        fired_keys = _fired_keys(uow, tenant_id, due)
        skipped_slots = _skipped_slots(uow, tenant_id, due)
    fired = skipped = 0
    for item in due:
        if item.agent_type in SCHEDULED_AGENT_TYPES:
            if schedule_key(item.agent_id, item.slot) not in fired_keys:
                fired += _fire(db, tenant_id, item)
        elif (item.agent_id, item.slot_iso) not in skipped_slots:
            skipped += _skip(db, tenant_id, item)
    return ScheduleOutcome(fired=fired, skipped=skipped)


def _due_slots(uow: UnitOfWork, tenant_id: uuid.UUID, now: datetime) -> list[_Due]:
    agents = uow.session.execute(
        sa.select(Agent.id, Agent.agent_type, Agent.schedule, Agent.created_at).where(
            Agent.tenant_id == tenant_id,
            Agent.enabled.is_(True),
            Agent.schedule.is_not(None),
            Agent.status.in_(SCHEDULABLE_STATUSES),
        )
    ).all()
    due: list[_Due] = []
    for agent_id, agent_type, schedule, created_at in agents:
        if schedule is None:
            continue
        try:
            slot = latest_slot(schedule, now, not_before=created_at)
        except ValueError as exc:
            logger.warning(
                "scheduler.bad_schedule",
                tenant_id=str(tenant_id),
                agent_id=str(agent_id),
                error=str(exc),
            )
            continue
        if slot is not None:
            due.append(_Due(agent_id, AgentType(agent_type), schedule, slot))
    return due


def _fired_keys(uow: UnitOfWork, tenant_id: uuid.UUID, due: list[_Due]) -> set[str]:
    keys = [schedule_key(d.agent_id, d.slot) for d in due if d.agent_type in SCHEDULED_AGENT_TYPES]
    if not keys:
        return set()
    found = uow.session.scalars(
        sa.select(Task.idempotency_key).where(
            Task.tenant_id == tenant_id, Task.idempotency_key.in_(keys)
        )
    )
    return {key for key in found if key is not None}


def _skip_entries(tenant_id: uuid.UUID, agent_ids: list[uuid.UUID]) -> sa.Select[Any]:
    return sa.select(ActivityLogEntry.agent_id, ActivityLogEntry.details["slot"].as_string()).where(
        ActivityLogEntry.tenant_id == tenant_id,
        ActivityLogEntry.agent_id.in_(agent_ids),
        ActivityLogEntry.action == SKIPPED,
    )


def _skipped_slots(
    uow: UnitOfWork, tenant_id: uuid.UUID, due: list[_Due]
) -> set[tuple[uuid.UUID, str]]:
    agent_ids = [d.agent_id for d in due if d.agent_type not in SCHEDULED_AGENT_TYPES]
    if not agent_ids:
        return set()
    slots = sorted({d.slot_iso for d in due})
    rows = uow.session.execute(
        _skip_entries(tenant_id, agent_ids).where(
            ActivityLogEntry.details["slot"].as_string().in_(slots)
        )
    ).all()
    return {(agent_id, slot) for agent_id, slot in rows if agent_id}


def _lock_schedulable(uow: UnitOfWork, tenant_id: uuid.UUID, item: _Due, *, share: bool) -> bool:
    """Lock the agent row and say whether it may still fire this schedule.

    Read under the lock, so an agent paused or disabled before this point never fires, and a
    pause committed after it waits for this run to be written.
    """
    row = uow.session.execute(
        sa.select(Agent.enabled, Agent.status, Agent.schedule)
        .where(Agent.tenant_id == tenant_id, Agent.id == item.agent_id)
        .with_for_update(read=share)
    ).first()
    return (
        row is not None
        and row.enabled
        and row.status in SCHEDULABLE_STATUSES
        and row.schedule == item.schedule
    )


def _fire(db: Database, tenant_id: uuid.UUID, item: _Due) -> int:
    (task_type,) = TASK_TYPES[item.agent_type]
    parsed = validate_task_input(item.agent_type, task_type, {"agent_id": str(item.agent_id)})
    task_id = scheduled_task_id(item.agent_id, item.slot)
    submission = TaskSubmission(
        agent_type=item.agent_type,
        task_type=task_type,
        input=parsed.model_dump(mode="json", exclude_none=True),
        task_id=task_id,
        idempotency_key=schedule_key(item.agent_id, item.slot),
        trace_id=uuid.uuid4().hex,
        trigger=TaskTrigger.SCHEDULED,
        agent_id=item.agent_id,
    )
    log = logger.bind(tenant_id=str(tenant_id), agent_id=str(item.agent_id), slot=item.slot_iso)
    with db.unit_of_work(tenant_id) as uow:
        if not _lock_schedulable(uow, tenant_id, item, share=True):
            return 0
        # The entry names the task, which submit_task inserts: it must not be flushed first.
        with uow.session.no_autoflush:
            uow.session.add(_entry(tenant_id, item, FIRED, task_id=task_id))
            try:
                _task, created = submit_task(uow, tenant_id, submission)
            except Conflict as exc:
                log.error("scheduler.fire_conflict", error=str(exc))
                return 0
    if created:
        log.info("scheduler.fired", task_id=str(task_id), agent_type=item.agent_type.value)
    return int(created)


def _skip(db: Database, tenant_id: uuid.UUID, item: _Due) -> int:
    with db.unit_of_work(tenant_id) as uow:
        # An exclusive lock serialises replicas: the second one finds the first one's entry.
        if not _lock_schedulable(uow, tenant_id, item, share=False):
            return 0
        recorded = uow.session.execute(
            _skip_entries(tenant_id, [item.agent_id]).where(
                ActivityLogEntry.details["slot"].as_string() == item.slot_iso
            )
        ).first()
        if recorded is not None:
            return 0
        uow.session.add(
            _entry(
                tenant_id,
                item,
                SKIPPED,
                reason=f"{item.agent_type.value} agents work on one record per run, which a "
                "schedule cannot name; hand them work through tasks or the pipeline",
            )
        )
        uow.commit()
    logger.info(
        "scheduler.skipped",
        tenant_id=str(tenant_id),
        agent_id=str(item.agent_id),
        agent_type=item.agent_type.value,
        slot=item.slot_iso,
    )
    return 1


def _entry(
    tenant_id: uuid.UUID,
    item: _Due,
    action: str,
    *,
    task_id: uuid.UUID | None = None,
    reason: str | None = None,
) -> ActivityLogEntry:
    details = {"slot": item.slot_iso, "schedule": item.schedule}
    if reason is not None:
        details["reason"] = reason
    return ActivityLogEntry(
        tenant_id=tenant_id,
        agent_id=item.agent_id,
        task_id=task_id,
        actor_kind=ActorKind.SYSTEM,
        actor_id=ACTOR_ID,
        action=action,
        entity_type="task" if task_id else None,
        entity_id=task_id,
        details=details,
    )
