"""Drafting one outreach message: context → LLM → draft + approval item, in one transaction."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import structlog

from shared.db.base import utcnow
from shared.db.models import (
    ActivityLogEntry,
    ActorKind,
    ApprovalItem,
    ApprovalItemType,
    Channel,
    Draft,
    UsageOutcome,
)
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from shared.domain.tasks import complete_task, lock_task
from shared.envelope import TaskEnvelope
from shared.errors import AgentfleetError, RateLimited
from shared.events import Event, EventType
from shared.lifecycles import DraftStatus, TaskStatus
from shared.llm import LlmClient, LlmResult
from shared.task_inputs import DraftOutreachInput
from shared.usage import ProviderCall, record_provider_call
from workers.outreach.context import OutreachContext, load_outreach_context
from workers.outreach.prompt import DRAFT_SCHEMA, PROMPT_VERSION, build_messages, input_hash
from workers.runtime.context import WorkerContext
from workers.runtime.task_runner import TaskRun

__all__ = ["DRAFT_STEP", "draft_outreach"]

DRAFT_STEP = "draft"
_OPERATION = "generate_json"
TEMPERATURE = 0.4
MAX_TOKENS = 800

log = structlog.get_logger(__name__)

_ITEM_TYPES = {
    Channel.EMAIL: ApprovalItemType.EMAIL_DRAFT,
    Channel.LINKEDIN: ApprovalItemType.LINKEDIN_DRAFT,
    Channel.OTHER: ApprovalItemType.MESSAGE_DRAFT,
}


def draft_outreach(
    ctx: WorkerContext, envelope: TaskEnvelope, request: DraftOutreachInput, run: TaskRun
) -> None:
    """The outreach agent's one step. A repeat delivery after success writes nothing."""
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        context = load_outreach_context(uow, run.tenant_id, request)
    messages = build_messages(context.facts)
    llm = ctx.providers.llm(run.tenant_id, agent_id=request.agent_id)
    parameters: dict[str, Any] = {"temperature": TEMPERATURE, "max_tokens": MAX_TOKENS}
    try:
        result = llm.complete_json(
            messages,
            schema_name="outreach_draft",
            schema=DRAFT_SCHEMA,
            temperature=TEMPERATURE,
            max_tokens=MAX_TOKENS,
        )
    except AgentfleetError as exc:
        _record_failed_call(ctx, run, llm, exc)
        raise
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        task = lock_task(uow, run.tenant_id, run.task_id)
        if task is None or task.status != TaskStatus.IN_PROGRESS:
            # Cancelled while the model was answering: no draft, but the call was paid for.
            _bill(uow, ctx, run, request, llm, result, None)
            uow.commit()
            log.info("task.skipped", task_id=str(run.task_id), reason="no longer in progress")
            return
        draft_id = _write_draft(
            uow, envelope, request, context, result, input_hash(messages, llm.model, parameters)
        )
        if draft_id is None:
            log.info("draft.duplicate", task_id=str(run.task_id))
            return
        item = _write_approval_item(uow, ctx, envelope, request, context, result, draft_id)
        _bill(uow, ctx, run, request, llm, result, draft_id)
        uow.session.add(
            ActivityLogEntry(
                tenant_id=run.tenant_id,
                task_id=run.task_id,
                actor_kind=ActorKind.AGENT,
                actor_id="outreach",
                action="draft.created",
                entity_type="draft",
                entity_id=draft_id,
                details={"channel": request.channel.value, "approval_item_id": str(item.id)},
            )
        )
        complete_task(uow, task, {"draft_id": str(draft_id), "approval_item_id": str(item.id)})
        uow.commit()


def _write_draft(
    uow: UnitOfWork,
    envelope: TaskEnvelope,
    request: DraftOutreachInput,
    context: OutreachContext,
    result: LlmResult,
    prompt_hash: str,
) -> uuid.UUID | None:
    """Insert the draft (deduplicated on ``(task_id, step)``); its id, or None if it existed."""
    answer = result.data
    draft_id = uuid.uuid4()
    values: dict[str, Any] = {
        "id": draft_id,
        "tenant_id": envelope.tenant_id,
        "task_id": envelope.task_id,
        "step": DRAFT_STEP,
        "agent_id": request.agent_id,
        "contact_id": context.contact_id,
        "opportunity_id": context.opportunity_id,
        "channel": request.channel.value,
        "subject": (answer.get("subject") or None) if request.channel is Channel.EMAIL else None,
        "body": answer["body"],
        "personalization": {
            "reasoning": answer.get("reasoning", ""),
            "key_points": answer.get("key_points", []),
            "facts_used": answer.get("facts_used", []),
            "context": context.facts,
        },
        "status": DraftStatus.PENDING_APPROVAL.value,
        "prompt_version": PROMPT_VERSION,
        "model": result.model,
        "model_parameters": {"temperature": TEMPERATURE, "max_tokens": MAX_TOKENS},
        "input_hash": prompt_hash,
    }
    if not insert_if_absent(uow.session, Draft, values):
        return None
    uow.record(
        Event(
            event_type=EventType.DRAFT_CREATED,
            tenant_id=envelope.tenant_id,
            aggregate_type="draft",
            aggregate_id=draft_id,
            trace_id=envelope.trace_id,
            payload={
                "task_id": str(envelope.task_id),
                "contact_id": str(context.contact_id),
                "channel": request.channel.value,
            },
        )
    )
    return draft_id


def _write_approval_item(
    uow: UnitOfWork,
    ctx: WorkerContext,
    envelope: TaskEnvelope,
    request: DraftOutreachInput,
    context: OutreachContext,
    result: LlmResult,
    draft_id: uuid.UUID,
) -> ApprovalItem:
    answer = result.data
    company = context.facts["contact"].get("company")
    recipient = f"{context.contact_name} at {company}" if company else context.contact_name
    label = {"email": "Email", "linkedin": "LinkedIn message", "other": "Message"}
    item = ApprovalItem(
        id=uuid.uuid4(),
        tenant_id=envelope.tenant_id,
        agent_id=request.agent_id,
        agent_type=envelope.agent_type.value,
        task_id=envelope.task_id,
        draft_id=draft_id,
        item_type=_ITEM_TYPES[request.channel].value,
        priority=envelope.priority.value,
        title=f"{label[request.channel.value]} to {recipient}"[:500],
        content={
            "channel": request.channel.value,
            "subject": (answer.get("subject") or None)
            if request.channel is Channel.EMAIL
            else None,
            "body": answer["body"],
        },
        context={
            "reasoning": answer.get("reasoning", ""),
            "key_points": answer.get("key_points", []),
            "facts_used": answer.get("facts_used", []),
            "contact": context.facts["contact"],
            "opportunity": context.facts.get("opportunity"),
        },
        expires_at=utcnow() + timedelta(hours=ctx.settings.approval_default_ttl_hours),
    )
    uow.session.add(item)
    uow.session.flush()
    uow.record(
        Event(
            event_type=EventType.APPROVAL_CREATED,
            tenant_id=envelope.tenant_id,
            aggregate_type="approval_item",
            aggregate_id=item.id,
            trace_id=envelope.trace_id,
            payload={
                "item_type": item.item_type,
                "draft_id": str(draft_id),
                "task_id": str(envelope.task_id),
                "priority": item.priority,
            },
        )
    )
    return item


def _bill(
    uow: UnitOfWork,
    ctx: WorkerContext,
    run: TaskRun,
    request: DraftOutreachInput,
    llm: LlmClient,
    result: LlmResult,
    draft_id: uuid.UUID | None,
) -> None:
    """The successful call's usage, once per task step (the dedup key)."""
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
        agent_id=request.agent_id,
        draft_id=draft_id,
        dedup_key=f"{run.task_id}:{DRAFT_STEP}",
    )


def _record_failed_call(
    ctx: WorkerContext, run: TaskRun, llm: LlmClient, error: AgentfleetError
) -> None:
    """Failed calls are recorded too (unbilled, no dedup key): they show in usage and errors."""
    outcome = UsageOutcome.RATE_LIMITED if isinstance(error, RateLimited) else UsageOutcome.ERROR
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        record_provider_call(
            uow,
            ctx.settings,
            ProviderCall(
                provider=llm.provider, model=llm.model, operation=_OPERATION, outcome=outcome
            ),
            tenant_id=run.tenant_id,
            task_id=run.task_id,
        )
        uow.commit()
