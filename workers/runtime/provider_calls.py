"""Usage rows for an agent's provider calls: once per ``(task, step)`` when they succeed,
unbilled and without a dedup key when they fail; and the LLM call that records its failure."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from shared.db.models import UsageOutcome
from shared.db.unit_of_work import UnitOfWork
from shared.errors import AgentfleetError, RateLimited
from shared.llm import ChatMessage, LlmClient, LlmResult
from shared.usage import ProviderCall, record_provider_call
from workers.runtime.context import WorkerContext
from workers.runtime.task_runner import TaskRun

__all__ = ["ask_json", "bill_call", "record_failed_call"]


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


def ask_json(
    ctx: WorkerContext,
    run: TaskRun,
    llm: LlmClient,
    messages: Sequence[ChatMessage],
    *,
    schema_name: str,
    schema: dict[str, Any],
    temperature: float,
    max_tokens: int,
    operation: str,
    agent_id: uuid.UUID | None,
) -> LlmResult:
    """The model's JSON answer; a call that fails is recorded (see :func:`record_failed_call`)
    before its error goes on to the task runner."""
    try:
        return llm.complete_json(
            messages,
            schema_name=schema_name,
            schema=schema,
            temperature=temperature,
            max_tokens=max_tokens,
        )
    except AgentfleetError as exc:
        record_failed_call(
            ctx,
            run,
            provider=llm.provider,
            model=llm.model,
            operation=operation,
            agent_id=agent_id,
            error=exc,
        )
        raise
