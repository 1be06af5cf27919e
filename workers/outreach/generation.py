"""Asking the model for a draft that passes the grounding check, regenerating it once.

A rejected first answer is billed at once under its own dedup key, and the second request
states its problems; the caller decides what happens to an answer that still fails.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog

from shared.db.models import UsageOutcome
from shared.db.unit_of_work import UnitOfWork
from shared.domain.tasks import lock_running_task
from shared.llm import ChatMessage, LlmClient, LlmResult
from shared.usage import ProviderCall, record_provider_call
from workers.outreach.grounding import check_grounding
from workers.outreach.prompt import DRAFT_SCHEMA, DraftPrompt, build_messages
from workers.runtime.context import WorkerContext
from workers.runtime.provider_calls import ask_json
from workers.runtime.task_runner import TaskRun

__all__ = ["MAX_TOKENS", "TEMPERATURE", "DraftJob", "Generation", "bill", "generate_grounded"]

TEMPERATURE = 0.4
MAX_TOKENS = 800
_OPERATION = "generate_json"
_REGENERATED = "regenerate"

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DraftJob:
    """What to draft: the prompt kind, its context and instruction, the task step, and the
    reviewers' guidance for the agent."""

    prompt: DraftPrompt
    facts: dict[str, Any]
    instruction: str
    max_words: int
    step: str
    agent_id: uuid.UUID | None
    guidance: tuple[str, ...] = ()

    @property
    def parameters(self) -> dict[str, Any]:
        return {"temperature": TEMPERATURE, "max_tokens": MAX_TOKENS}


@dataclass(frozen=True)
class Generation:
    """The answer kept, what the model was sent for it, and what the check found."""

    result: LlmResult
    messages: list[ChatMessage]
    dedup_key: str
    problems: list[str]
    """Problems of the kept answer; empty when it is grounded."""
    rejected: list[str] = field(default_factory=list)
    """Problems of the first answer, when it was regenerated."""

    @property
    def grounded(self) -> bool:
        return not self.problems

    @property
    def attempts(self) -> int:
        return 2 if self.rejected else 1


def generate_grounded(
    ctx: WorkerContext, run: TaskRun, llm: LlmClient, job: DraftJob
) -> Generation:
    """The first grounded answer of at most two; raises what the provider client raises."""
    messages = build_messages(job.prompt, job.facts, job.instruction, guidance=job.guidance)
    first = _call(ctx, run, llm, job, messages)
    problems = check_grounding(first.data, job.facts, max_words=job.max_words)
    key = f"{run.task_id}:{job.step}"
    if not problems:
        return Generation(first, messages, key, [])
    log.info("draft.ungrounded", task_id=str(run.task_id), attempt=1, problems=problems)
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        bill(uow, ctx, run, llm, first, agent_id=job.agent_id, draft_id=None, dedup_key=key)
        task = lock_running_task(uow, run.tenant_id, run.task_id)
        uow.commit()
    if task is None:
        return Generation(first, messages, key, problems)
    retry = build_messages(job.prompt, job.facts, job.instruction, problems, job.guidance)
    second = _call(ctx, run, llm, job, retry)
    still = check_grounding(second.data, job.facts, max_words=job.max_words)
    if still:
        log.warning("draft.ungrounded", task_id=str(run.task_id), attempt=2, problems=still)
    return Generation(second, retry, f"{key}:{_REGENERATED}", still, problems)


def bill(
    uow: UnitOfWork,
    ctx: WorkerContext,
    run: TaskRun,
    llm: LlmClient,
    result: LlmResult,
    *,
    agent_id: uuid.UUID | None,
    draft_id: uuid.UUID | None,
    dedup_key: str,
) -> None:
    """A successful call's usage, once per ``dedup_key`` (task, step and attempt)."""
    record_provider_call(
        uow,
        ctx.settings,
        ProviderCall(
            provider=llm.provider,
            model=result.model,
            operation=_OPERATION,
            outcome=UsageOutcome.OK,
            tokens_in=result.tokens_in,
            tokens_out=result.tokens_out,
            latency_ms=result.latency_ms,
        ),
        tenant_id=run.tenant_id,
        task_id=run.task_id,
        agent_id=agent_id,
        draft_id=draft_id,
        dedup_key=dedup_key,
    )


def _call(
    ctx: WorkerContext, run: TaskRun, llm: LlmClient, job: DraftJob, messages: list[ChatMessage]
) -> LlmResult:
    return ask_json(
        ctx,
        run,
        llm,
        messages,
        schema_name=job.prompt.schema_name,
        schema=DRAFT_SCHEMA,
        temperature=TEMPERATURE,
        max_tokens=MAX_TOKENS,
        operation=_OPERATION,
        agent_id=job.agent_id,
    )
