"""The path every task message takes: validate, start, run the agent, and settle the task.

* invalid message → dead-lettered with its reason (and recorded as a failed task when its
  ids can be read), never retried;
* task already finished → acknowledged and skipped (at-least-once delivery, one effect);
* agent quota (daily / hourly limit, ``maxDailyOutreach``) full → held as pending until the
  next window, when the scheduler dispatches it again;
* rate limited → deferred through the outbox, spending no retry;
* permanent error, or transient error on the last attempt → task failed with the reason;
* transient error with attempts left → raised, so Dramatiq retries with backoff.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import dramatiq
import sqlalchemy as sa
import structlog
from dramatiq.middleware import CurrentMessage
from pydantic import BaseModel

from shared.agent_types import AgentType
from shared.agents.config import config_model
from shared.agents.quotas import QuotaFull, quotas_for, release_quota, take_quota
from shared.agents.runtime_config import agent_config
from shared.db.base import utcnow
from shared.db.models import Task
from shared.db.upsert import insert_if_absent
from shared.domain.tasks import (
    ensure_task,
    envelope_for,
    fail_task,
    hold_task,
    lock_running_task,
    lock_task,
    start_task,
)
from shared.envelope import TaskEnvelope, parse_envelope
from shared.errors import AgentNotFound, InvalidMessage, PermanentError, RateLimited
from shared.lifecycles import TaskStatus, TaskTrigger
from shared.task_inputs import InputInvalid, validate_task_input
from workers.runtime.context import WorkerContext
from workers.runtime.outcomes import TaskOutcome

__all__ = ["AgentHandler", "TaskOutcome", "TaskRun", "run_task_message"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class TaskRun:
    task_id: uuid.UUID
    tenant_id: uuid.UUID
    attempt: int
    trace_id: str | None
    agent_id: uuid.UUID | None = None
    """The agent the task row is attributed to when it started."""


AgentHandler = Callable[[WorkerContext, TaskEnvelope, Any, TaskRun], None]


def run_task_message(
    ctx: WorkerContext, queue: AgentType, raw: object, handler: AgentHandler
) -> TaskOutcome:
    """Handle one delivery; the outcome is the actor's result, which the metrics count."""
    message = CurrentMessage.get_current_message()
    with structlog.contextvars.bound_contextvars(agent_type=queue.value, **_ids_of(raw)):
        try:
            envelope, parsed_input = _validated(queue, raw)
            run = _start(ctx, envelope)
        except InvalidMessage as exc:
            _dead_letter(ctx, queue, message, raw, exc)
            return TaskOutcome.DEAD_LETTERED
        if run is None:
            return TaskOutcome.SKIPPED
        with structlog.contextvars.bound_contextvars(trace_id=run.trace_id):
            return _run(ctx, queue, message, raw, envelope, parsed_input, run, handler)


def _run(
    ctx: WorkerContext,
    queue: AgentType,
    message: dramatiq.Message[Any] | None,
    raw: object,
    envelope: TaskEnvelope,
    parsed_input: BaseModel,
    run: TaskRun,
    handler: AgentHandler,
) -> TaskOutcome:
    try:
        full = _take_quota(ctx, envelope, parsed_input, run)
        if full is not None:
            log.info(
                "task.held",
                quota=full.quota.name,
                limit=full.quota.limit,
                until=full.reopens_at.isoformat(),
            )
            _hold(ctx, envelope, full)
            return TaskOutcome.HELD
        handler(ctx, envelope, parsed_input, run)
        return TaskOutcome.COMPLETED
    except RateLimited as exc:
        log.info("task.deferred", delay_s=exc.delay_s, reason=str(exc))
        _defer(ctx, envelope, run, exc.delay_s)
        return TaskOutcome.DEFERRED
    except AgentNotFound as exc:
        # Dead-lettered rather than failed: replayed once the agent exists, it can still run.
        ids = {"task_id": str(run.task_id), "tenant_id": str(run.tenant_id)}
        _dead_letter(
            ctx, queue, message, raw, InvalidMessage(str(exc), kind="missing_agent", **ids)
        )
        return TaskOutcome.DEAD_LETTERED
    except PermanentError as exc:
        log.warning("task.failed", error=str(exc))
        _fail(ctx, envelope, str(exc))
        return TaskOutcome.FAILED
    except Exception as exc:
        if _is_last_attempt(ctx, message):
            log.error("task.failed", error=str(exc), exc_type=type(exc).__name__)
            _fail(ctx, envelope, f"{type(exc).__name__}: {exc} (after {run.attempt} attempts)")
            return TaskOutcome.FAILED
        log.warning("task.retrying", error=str(exc), exc_type=type(exc).__name__)
        raise


def _ids_of(raw: object) -> dict[str, str]:
    """The ids a raw envelope names, for the log context before it is validated."""
    if not isinstance(raw, dict):
        return {}
    return {key: str(raw[key])[:64] for key in ("task_id", "tenant_id") if raw.get(key)}


def _validated(queue: AgentType, raw: object) -> tuple[TaskEnvelope, BaseModel]:
    envelope = parse_envelope(raw)
    ids = {"task_id": str(envelope.task_id), "tenant_id": str(envelope.tenant_id)}
    if envelope.agent_type is not queue:
        raise InvalidMessage(
            f"agent type {envelope.agent_type.value!r} does not belong on queue {queue.value!r}",
            kind="wrong_queue",
            **ids,
        )
    try:
        parsed = validate_task_input(envelope.agent_type, envelope.task_type, envelope.input)
    except InputInvalid as exc:
        raise InvalidMessage(str(exc), kind="invalid_input", **ids) from None
    return envelope, parsed


def _start(ctx: WorkerContext, envelope: TaskEnvelope) -> TaskRun | None:
    try:
        with ctx.db.unit_of_work(envelope.tenant_id) as uow:
            task = ensure_task(uow, envelope, trigger=TaskTrigger.API)
            if task is None:
                raise InvalidMessage(
                    f"task id {envelope.task_id} or its idempotency key belongs to another task",
                    kind="id_conflict",
                )
            if not start_task(uow, task):
                log.info("task.skipped", task_id=str(task.id), status=task.status)
                return None
            uow.commit()
            return TaskRun(task.id, task.tenant_id, task.attempts, task.trace_id, task.agent_id)
    except sa.exc.IntegrityError:
        raise InvalidMessage(
            f"tenant {envelope.tenant_id} does not exist", kind="unknown_tenant"
        ) from None


def _is_last_attempt(ctx: WorkerContext, message: dramatiq.Message[Any] | None) -> bool:
    if message is None:
        return True
    retries: int = message.options.get("retries", 0)
    return retries >= ctx.settings.task_max_retries


def _take_quota(
    ctx: WorkerContext, envelope: TaskEnvelope, parsed_input: BaseModel, run: TaskRun
) -> QuotaFull | None:
    """A slot of each of the agent's quotas for this task; the full quota if one has no room.

    The task is attributed to the agent its input names (a message published straight to a
    queue names it only there) once the agent is known to be the tenant's, of this type.
    """
    agent_id = getattr(parsed_input, "agent_id", None)
    if not isinstance(agent_id, uuid.UUID):
        return None
    agent_type = envelope.agent_type
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        config = agent_config(uow, run.tenant_id, agent_id, agent_type, config_model(agent_type))
        quotas = quotas_for(agent_type, config)
        full = None
        if quotas:
            full = take_quota(
                uow.session,
                tenant_id=run.tenant_id,
                agent_id=agent_id,
                task_id=run.task_id,
                quotas=quotas,
                now=utcnow(),
            )
            if full is not None:
                uow.rollback()
        if run.agent_id is None:
            uow.session.execute(
                sa.update(Task)
                .where(
                    Task.tenant_id == run.tenant_id, Task.id == run.task_id, Task.agent_id.is_(None)
                )
                .values(agent_id=agent_id)
            )
        uow.commit()
        return full


def _hold(ctx: WorkerContext, envelope: TaskEnvelope, full: QuotaFull) -> None:
    with ctx.db.unit_of_work(envelope.tenant_id) as uow:
        task = lock_running_task(uow, envelope.tenant_id, envelope.task_id)
        if task is None:
            return
        reason = f"{full.quota.name} limit of {full.quota.limit} per {full.quota.window} reached"
        hold_task(uow, task, full.reopens_at, reason)
        uow.commit()


def _fail(ctx: WorkerContext, envelope: TaskEnvelope, error: str) -> None:
    with ctx.db.unit_of_work(envelope.tenant_id) as uow:
        task = lock_running_task(uow, envelope.tenant_id, envelope.task_id)
        if task is None:
            return
        fail_task(uow, task, error)
        release_quota(uow.session, task.id)
        uow.commit()


def _defer(ctx: WorkerContext, envelope: TaskEnvelope, run: TaskRun, delay_s: float) -> None:
    with ctx.db.unit_of_work(envelope.tenant_id) as uow:
        task = lock_running_task(uow, envelope.tenant_id, envelope.task_id)
        if task is None:
            return
        uow.dispatch(
            envelope_for(task),
            dedup_key=f"task:{task.id}:defer:{run.attempt}",
            available_at=utcnow() + timedelta(seconds=delay_s),
        )
        uow.commit()


def _dead_letter(
    ctx: WorkerContext,
    queue: AgentType,
    message: dramatiq.Message[Any] | None,
    raw: object,
    exc: InvalidMessage,
) -> None:
    log.warning(
        "message.dead_lettered",
        queue=queue.value,
        reason=exc.reason,
        task_id=exc.task_id,
        tenant_id=exc.tenant_id,
    )
    if message is not None:
        ctx.dead_letters.dead_letter(message, exc.reason, kind=exc.kind)
    if exc.task_id and exc.tenant_id:
        _record_rejected_task(ctx, queue, raw, exc)


def _record_rejected_task(
    ctx: WorkerContext, queue: AgentType, raw: object, exc: InvalidMessage
) -> None:
    """Best effort: the message is already parked; a failed task row makes it visible."""
    assert exc.task_id
    assert exc.tenant_id
    tenant_id, task_id = uuid.UUID(exc.tenant_id), uuid.UUID(exc.task_id)
    body = raw if isinstance(raw, dict) else {}
    try:
        with ctx.db.unit_of_work(tenant_id) as uow:
            insert_if_absent(
                uow.session,
                Task,
                {
                    "id": task_id,
                    "tenant_id": tenant_id,
                    "agent_type": queue.value,
                    "task_type": str(body.get("task_type") or "unknown")[:60],
                    "status": TaskStatus.PENDING.value,
                    "input": body.get("input") if isinstance(body.get("input"), dict) else {},
                    "trigger": TaskTrigger.API.value,
                },
            )
            task = lock_task(uow, tenant_id, task_id)
            if task is None or task.status not in (TaskStatus.PENDING, TaskStatus.IN_PROGRESS):
                return
            fail_task(uow, task, f"invalid message: {exc.reason}")
            release_quota(uow.session, task.id)
            uow.commit()
    except sa.exc.SQLAlchemyError as db_error:
        log.info("message.dead_letter_unrecorded", task_id=exc.task_id, error=str(db_error))
