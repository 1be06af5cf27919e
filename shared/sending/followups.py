"""Follow-ups start when a message goes out, not when it is drafted: a draft that is never sent
(rejected, expired, suppressed) schedules nothing.

* an outreach draft sent by an agent with ``notifyFollowupAgent`` schedules follow-up 1 after
  that agent's ``defaultFollowupDelayDays``;
* follow-up ``n`` sent, below the follow-up agent's ``maxFollowups``, schedules ``n + 1`` after
  the follow-up agent's ``defaultFollowupDelayDays``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.agent_types import AgentType
from shared.agents.config import FollowupConfig, OutreachConfig
from shared.agents.runtime_config import agent_config
from shared.db.models import Draft, Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.followups import schedule_followup

__all__ = ["schedule_followup_after_send"]


def schedule_followup_after_send(
    uow: UnitOfWork, draft: Draft, task: Task, *, sent_at: datetime
) -> Task | None:
    """The follow-up task the sent ``draft`` calls for (held until due), if any; None when its
    agent asks for none, the sequence is at its maximum, or it was scheduled already."""
    if task.agent_type == AgentType.OUTREACH.value:
        return _after_outreach(uow, draft, task, sent_at)
    if task.agent_type == AgentType.FOLLOWUP.value:
        return _after_followup(uow, draft, task, sent_at)
    return None


def _after_outreach(uow: UnitOfWork, draft: Draft, task: Task, sent_at: datetime) -> Task | None:
    config = agent_config(uow, draft.tenant_id, draft.agent_id, AgentType.OUTREACH, OutreachConfig)
    if not config.notify_followup_agent:
        return None
    return schedule_followup(
        uow,
        task,
        draft_id=draft.id,
        attempt=1,
        delay_days=config.default_followup_delay_days,
        preferred_agent=_pipeline_followup_agent(task.input),
        after=sent_at,
    )


def _after_followup(uow: UnitOfWork, draft: Draft, task: Task, sent_at: datetime) -> Task | None:
    details = draft.personalization.get("followup") or {}
    attempt, original = details.get("attempt"), details.get("original_draft_id")
    if not isinstance(attempt, int) or not isinstance(original, str):
        return None
    config = agent_config(uow, draft.tenant_id, draft.agent_id, AgentType.FOLLOWUP, FollowupConfig)
    if attempt >= config.max_followups:
        return None
    return schedule_followup(
        uow,
        task,
        draft_id=uuid.UUID(original),
        attempt=attempt + 1,
        delay_days=config.default_followup_delay_days,
        preferred_agent=draft.agent_id,
        after=sent_at,
    )


def _pipeline_followup_agent(task_input: dict[str, Any]) -> uuid.UUID | None:
    """The follow-up agent a prospecting run named for its later steps, if any."""
    pipeline = task_input.get("pipeline")
    agents = pipeline.get("agents") if isinstance(pipeline, dict) else None
    chosen = agents.get(AgentType.FOLLOWUP.value) if isinstance(agents, dict) else None
    try:
        return uuid.UUID(chosen) if isinstance(chosen, str) else None
    except ValueError:
        return None
