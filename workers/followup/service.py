"""Drafting one follow-up on an earlier draft.

The sequence stops when the contact replied (or bounced, opted out, is suppressed) or after
``maxFollowups``; each follow-up passes the same grounding check as outreach and lands in the
approval queue as a ``followup_draft`` item. The next follow-up is scheduled when this one is
sent (``shared.sending.followups``), or here when this step writes no draft and so sends
nothing.
"""

from __future__ import annotations

from typing import Any

import structlog

from shared.agent_types import AgentType
from shared.agents.activity import log_agent_action
from shared.agents.config import FollowupConfig
from shared.agents.runtime_config import agent_config
from shared.db.models import ApprovalItemType, Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.followups import schedule_followup
from shared.domain.tasks import complete_task, lock_running_task
from shared.envelope import TaskEnvelope
from shared.guidance import current_guidance
from shared.task_inputs import DraftFollowupInput
from workers.followup.context import FollowupContext, load_followup_context
from workers.followup.plan import FollowupPlan, plan_followup
from workers.followup.prompt import FOLLOWUP_PROMPT, followup_instruction
from workers.outreach.generation import DraftJob, generate_grounded
from workers.outreach.records import DraftTarget, title_for
from workers.outreach.service import settle_generation
from workers.runtime.context import WorkerContext
from workers.runtime.task_runner import TaskRun

__all__ = ["FOLLOWUP_STEP", "draft_followup"]

FOLLOWUP_STEP = "followup"

log = structlog.get_logger(__name__)


def draft_followup(
    ctx: WorkerContext, envelope: TaskEnvelope, request: DraftFollowupInput, run: TaskRun
) -> None:
    """The follow-up agent's one step. A repeat delivery after success writes nothing."""
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        config = agent_config(
            uow, run.tenant_id, request.agent_id, AgentType.FOLLOWUP, FollowupConfig
        )
        loaded = load_followup_context(uow, run.tenant_id, request)
        guidance = current_guidance(uow, run.tenant_id, request.agent_id)
        plan = plan_followup(config, request.attempt, request.followup_type, loaded.stop_reason)
        if plan.followup_type is None:
            _finish_without_draft(uow, run, request, config, loaded, plan)
            return
    facts = {**loaded.facts, "followup": {**loaded.facts["followup"], "type": plan.followup_type}}
    job = DraftJob(
        prompt=FOLLOWUP_PROMPT,
        facts=facts,
        instruction=followup_instruction(facts),
        max_words=request.max_words,
        step=FOLLOWUP_STEP,
        agent_id=request.agent_id,
        guidance=tuple(guidance),
    )
    llm = ctx.providers.llm(run.tenant_id, agent_id=request.agent_id)
    generation = generate_grounded(ctx, run, llm, job)
    label = plan.followup_type.replace("_", "-").capitalize()
    target = DraftTarget(
        contact_id=loaded.contact_id,
        opportunity_id=loaded.opportunity_id,
        channel=loaded.channel,
        item_type=ApprovalItemType.FOLLOWUP_DRAFT,
        title=title_for(loaded.channel, loaded.recipient, prefix=f"{label} follow-up: "),
        records=loaded.records,
        details={"followup": _details(request, loaded, plan), "reviewer_guidance": guidance},
    )
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        settled = settle_generation(
            uow, ctx, run, llm, job, target, generation, auto_approve=not config.approval_required
        )
        if settled is None:
            return
        task, stored = settled
        output: dict[str, Any] = {
            "draft_id": str(stored.draft_id),
            "draft_status": stored.status.value,
            "approval_item_id": str(stored.approval_item_id) if stored.approval_item_id else None,
            **_details(request, loaded, plan),
        }
        complete_task(uow, task, output, metrics={"drafts_created": 1})
        uow.commit()


def _finish_without_draft(
    uow: UnitOfWork,
    run: TaskRun,
    request: DraftFollowupInput,
    config: FollowupConfig,
    loaded: FollowupContext,
    plan: FollowupPlan,
) -> None:
    task = lock_running_task(uow, run.tenant_id, run.task_id)
    if task is None:
        return
    output: dict[str, Any] = {
        "draft_id": None,
        "original_draft_id": str(loaded.original_id),
        "attempt": request.attempt,
        "skipped": plan.reason,
    }
    _schedule_next(uow, task, request, config, loaded, plan, output)
    action = "followup.skipped" if plan.schedule_next else "followup.stopped"
    log_agent_action(
        uow,
        task,
        action,
        entity_type="draft",
        entity_id=loaded.original_id,
        agent_id=request.agent_id,
        attempt=request.attempt,
        reason=plan.reason,
    )
    log.info(action, task_id=str(task.id), reason=plan.reason)
    complete_task(uow, task, output, succeeded=0)
    uow.commit()


def _schedule_next(
    uow: UnitOfWork,
    task: Task,
    request: DraftFollowupInput,
    config: FollowupConfig,
    loaded: FollowupContext,
    plan: FollowupPlan,
    output: dict[str, Any],
) -> None:
    if not plan.schedule_next:
        return
    scheduled = schedule_followup(
        uow,
        task,
        draft_id=loaded.original_id,
        attempt=request.attempt + 1,
        delay_days=config.default_followup_delay_days,
        preferred_agent=request.agent_id,
    )
    if scheduled is not None:
        output["next_followup_task_id"] = str(scheduled.id)


def _details(
    request: DraftFollowupInput, loaded: FollowupContext, plan: FollowupPlan
) -> dict[str, Any]:
    return {
        "followup_type": plan.followup_type,
        "attempt": request.attempt,
        "original_draft_id": str(loaded.original_id),
    }
