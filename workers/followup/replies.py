"""Classifying an inbound reply (the follow-up agent's ``classify_reply`` step) and applying
what its category means, once per reply however often the task is delivered."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
import structlog

from shared.db.models import Draft, InboundReply, UsageOutcome
from shared.db.unit_of_work import UnitOfWork
from shared.domain.tasks import complete_task, lock_running_task
from shared.envelope import TaskEnvelope
from shared.errors import NotFound
from shared.llm import LlmClient, LlmResult
from shared.replies import ClassificationOutcome, ReplyVerdict, apply_classification, lock_reply
from shared.task_inputs import ClassifyReplyInput
from shared.usage import ProviderCall
from workers.followup.reply_prompt import (
    REPLY_PROMPT_VERSION,
    REPLY_SCHEMA,
    REPLY_SCHEMA_NAME,
    build_reply_messages,
    reply_facts,
)
from workers.runtime.context import WorkerContext
from workers.runtime.provider_calls import ask_json, bill_call
from workers.runtime.task_runner import TaskRun

__all__ = ["CLASSIFY_STEP", "classify_reply"]

CLASSIFY_STEP = "classify_reply"
_OPERATION = "generate_json"
TEMPERATURE = 0.0
MAX_TOKENS = 300

log = structlog.get_logger(__name__)


def classify_reply(
    ctx: WorkerContext, envelope: TaskEnvelope, request: ClassifyReplyInput, run: TaskRun
) -> None:
    """Ask the model for the reply's category and apply it; a reply classified before (by
    this task or another) is not sent to the model again."""
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        reply = _load_reply(uow, run.tenant_id, request.reply_id)
        if reply.classified_at is not None:
            _finish_classified(uow, run, request.reply_id)
            return
        original = uow.session.get(Draft, reply.draft_id) if reply.draft_id else None
        facts = reply_facts(reply, original)
    llm = ctx.providers.llm(run.tenant_id, agent_id=run.agent_id)
    result = _ask(ctx, run, llm, facts)
    verdict = ReplyVerdict.from_answer(result.data)
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        task = lock_running_task(uow, run.tenant_id, run.task_id)
        if task is not None:
            locked = lock_reply(uow, run.tenant_id, request.reply_id)
            if locked is None:
                raise NotFound(f"reply {request.reply_id} not found")
            outcome = apply_classification(uow, task, locked, verdict)
            output = _output(request.reply_id, outcome)
            output["model"] = {"provider": llm.provider, "model": result.model}
            output["prompt_version"] = REPLY_PROMPT_VERSION
            complete_task(uow, task, output)
            log.info("reply.classified", task_id=str(task.id), **_log_fields(outcome))
        _bill(uow, ctx, run, llm, result)
        uow.commit()


def _load_reply(uow: UnitOfWork, tenant_id: uuid.UUID, reply_id: uuid.UUID) -> InboundReply:
    reply = uow.session.scalars(
        sa.select(InboundReply).where(
            InboundReply.tenant_id == tenant_id, InboundReply.id == reply_id
        )
    ).first()
    if reply is None:
        raise NotFound(f"reply {reply_id} not found")
    return reply


def _finish_classified(uow: UnitOfWork, run: TaskRun, reply_id: uuid.UUID) -> None:
    task = lock_running_task(uow, run.tenant_id, run.task_id)
    locked = lock_reply(uow, run.tenant_id, reply_id)
    if task is None or locked is None:
        return
    outcome = ClassificationOutcome(
        str(locked.category), dict(locked.classification.get("effects") or {}), True
    )
    complete_task(uow, task, _output(reply_id, outcome), succeeded=0)
    uow.commit()


def _ask(ctx: WorkerContext, run: TaskRun, llm: LlmClient, facts: dict[str, Any]) -> LlmResult:
    return ask_json(
        ctx,
        run,
        llm,
        build_reply_messages(facts),
        schema_name=REPLY_SCHEMA_NAME,
        schema=REPLY_SCHEMA,
        temperature=TEMPERATURE,
        max_tokens=MAX_TOKENS,
        operation=_OPERATION,
        agent_id=run.agent_id,
    )


def _bill(
    uow: UnitOfWork, ctx: WorkerContext, run: TaskRun, llm: LlmClient, result: LlmResult
) -> None:
    call = ProviderCall(
        provider=llm.provider,
        model=result.model,
        operation=_OPERATION,
        outcome=UsageOutcome.OK,
        tokens_in=result.tokens_in,
        tokens_out=result.tokens_out,
        latency_ms=result.latency_ms,
    )
    bill_call(uow, ctx, run, call, step=CLASSIFY_STEP, agent_id=run.agent_id)


def _output(reply_id: uuid.UUID, outcome: ClassificationOutcome) -> dict[str, Any]:
    return {
        "reply_id": str(reply_id),
        "category": outcome.category,
        "already_classified": outcome.already_classified,
        "effects": outcome.effects,
    }


def _log_fields(outcome: ClassificationOutcome) -> dict[str, Any]:
    return {"category": outcome.category, "effects": sorted(outcome.effects)}
