"""Drafting one outreach message: context → LLM → grounding check → draft + approval item.

The agent's configuration decides what the context holds (event, account intelligence), the
tone when the task names none and whether the draft is approved at once; its follow-up is
scheduled when the message is sent (``shared.sending.followups``). A draft that fails the
grounding check twice never reaches the approval queue: it is kept as ``draft`` with its
problems and the task fails naming them.
"""

from __future__ import annotations

import structlog

from shared.agent_types import AgentType
from shared.agents.activity import log_agent_action
from shared.agents.config import OutreachConfig
from shared.agents.runtime_config import agent_config
from shared.db.models import ApprovalItemType, Channel, Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.tasks import complete_task, fail_task, lock_running_task
from shared.envelope import TaskEnvelope
from shared.guidance import current_guidance
from shared.llm import LlmClient
from shared.task_inputs import DraftOutreachInput
from workers.outreach.context import load_outreach_context
from workers.outreach.generation import DraftJob, Generation, bill, generate_grounded
from workers.outreach.prompt import OUTREACH_PROMPT, outreach_instruction
from workers.outreach.records import DraftTarget, StoredDraft, store_draft, title_for
from workers.runtime.context import WorkerContext
from workers.runtime.task_runner import TaskRun

__all__ = ["DRAFT_STEP", "draft_outreach", "settle_generation", "ungrounded_error"]

DRAFT_STEP = "draft"

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
        config = agent_config(
            uow, run.tenant_id, request.agent_id, AgentType.OUTREACH, OutreachConfig
        )
        context = load_outreach_context(uow, run.tenant_id, request, config)
        guidance = current_guidance(uow, run.tenant_id, request.agent_id)
    job = DraftJob(
        prompt=OUTREACH_PROMPT,
        facts=context.facts,
        instruction=outreach_instruction(context.facts),
        max_words=request.max_words,
        step=DRAFT_STEP,
        agent_id=request.agent_id,
        guidance=tuple(guidance),
    )
    llm = ctx.providers.llm(run.tenant_id, agent_id=request.agent_id)
    generation = generate_grounded(ctx, run, llm, job)
    target = DraftTarget(
        contact_id=context.contact_id,
        opportunity_id=context.opportunity_id,
        channel=request.channel,
        item_type=_ITEM_TYPES[request.channel],
        title=title_for(request.channel, context.recipient),
        records=context.records,
        details={"reviewer_guidance": guidance},
    )
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        settled = settle_generation(
            uow,
            ctx,
            run,
            llm,
            job,
            target,
            generation,
            auto_approve=config.auto_approve or not config.approval_required,
        )
        if settled is None:
            return
        task, stored = settled
        complete_task(uow, task, _output(stored), metrics={"drafts_created": 1})
        uow.commit()


def settle_generation(
    uow: UnitOfWork,
    ctx: WorkerContext,
    run: TaskRun,
    llm: LlmClient,
    job: DraftJob,
    target: DraftTarget,
    generation: Generation,
    *,
    auto_approve: bool,
) -> tuple[Task, StoredDraft] | None:
    """Bill the kept answer and store its draft in ``uow``. Returns the task and the stored
    grounded draft for the caller to complete; None when there is nothing more to do (the task
    stopped meanwhile, this step already ran, or the draft was ungrounded and the task failed,
    committed here)."""
    task = lock_running_task(uow, run.tenant_id, run.task_id)
    if task is None:
        # Stopped while the model was answering: no draft, but the call was paid for.
        bill(
            uow,
            ctx,
            run,
            llm,
            generation.result,
            agent_id=job.agent_id,
            draft_id=None,
            dedup_key=generation.dedup_key,
        )
        uow.commit()
        log.info("task.skipped", task_id=str(run.task_id), reason="no longer in progress")
        return None
    stored = store_draft(
        uow,
        task,
        job,
        target,
        generation,
        auto_approve=auto_approve,
        settings=ctx.settings,
    )
    if stored is None:
        log.info("draft.duplicate", task_id=str(run.task_id))
        return None
    bill(
        uow,
        ctx,
        run,
        llm,
        generation.result,
        agent_id=job.agent_id,
        draft_id=stored.draft_id,
        dedup_key=generation.dedup_key,
    )
    log_agent_action(
        uow,
        task,
        "draft.created" if generation.grounded else "draft.ungrounded",
        entity_type="draft",
        entity_id=stored.draft_id,
        agent_id=job.agent_id,
        channel=target.channel.value,
        status=stored.status.value,
        approval_item_id=str(stored.approval_item_id) if stored.approval_item_id else None,
        attempts=generation.attempts,
        problems=generation.problems,
    )
    if not generation.grounded:
        fail_task(uow, task, ungrounded_error(generation.problems))
        uow.commit()
        return None
    return task, stored


def ungrounded_error(problems: list[str]) -> str:
    """The task error for a draft that failed the grounding check, naming every problem."""
    return "the draft failed the grounding check twice and was not queued for approval: " + (
        "; ".join(problems)
    )


def _output(stored: StoredDraft) -> dict[str, str | None]:
    return {
        "draft_id": str(stored.draft_id),
        "draft_status": stored.status.value,
        "approval_item_id": str(stored.approval_item_id) if stored.approval_item_id else None,
    }
