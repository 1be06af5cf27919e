"""Usage rows for the enrichment agent's provider calls: once per ``(task, step)`` when they
succeed, unbilled and without a dedup key when they fail."""

from __future__ import annotations

import uuid

from shared.db.models import UsageOutcome
from shared.db.unit_of_work import UnitOfWork
from shared.errors import AgentfleetError, RateLimited
from shared.usage import ProviderCall, record_provider_call
from workers.runtime.context import WorkerContext
from workers.runtime.task_runner import TaskRun

__all__ = ["bill_call", "record_failed_call"]


def bill_call(
    uow: UnitOfWork,
    ctx: WorkerContext,
    run: TaskRun,
    call: ProviderCall,
    *,
    step: str,
    agent_id: uuid.UUID | None,
) -> None:
    """The successful call's usage, deduplicated on the task step."""
    record_provider_call(
        uow,
        ctx.settings,
        call,
        tenant_id=run.tenant_id,
        task_id=run.task_id,
        agent_id=agent_id,
        dedup_key=f"{run.task_id}:{step}",
    )


def record_failed_call(
    ctx: WorkerContext,
    run: TaskRun,
    *,
    provider: str,
    model: str | None,
    operation: str,
    agent_id: uuid.UUID | None,
    error: AgentfleetError,
) -> None:
    """A failed call shows in usage and errors, in its own transaction (the step rolls back)."""
    outcome = UsageOutcome.RATE_LIMITED if isinstance(error, RateLimited) else UsageOutcome.ERROR
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        record_provider_call(
            uow,
            ctx.settings,
            ProviderCall(provider=provider, model=model, operation=operation, outcome=outcome),
            tenant_id=run.tenant_id,
            task_id=run.task_id,
            agent_id=agent_id,
        )
        uow.commit()
