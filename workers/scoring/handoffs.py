"""Handing an account's best contacts to outreach: threshold, eligibility and the daily cap."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.agent_types import AgentType
from shared.agents.activity import log_agent_action
from shared.agents.config import ScoringConfig
from shared.agents.runtime_config import pick_agent
from shared.db.models import Contact, Opportunity, OutreachStatus, Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.handoffs import HandOff, hand_off
from shared.task_inputs import DraftOutreachInput, PipelineSpec
from workers.scoring.daily_cap import lock_and_count_handoffs
from workers.scoring.model import Score
from workers.scoring.records import ScoredRecords, ScoringRecords

__all__ = ["best_opportunity", "hand_on_to_outreach", "ineligibility"]

_NEVER_CONTACT = frozenset(
    {OutreachStatus.BOUNCED, OutreachStatus.UNSUBSCRIBED, OutreachStatus.DO_NOT_CONTACT}
)


def ineligibility(
    contact: Contact, suppressed: frozenset[str], *, coordinate_with_outreach: bool
) -> str | None:
    """Why ``contact`` may not be handed to outreach, or None if it may."""
    if not contact.email:
        return "no_email"
    if contact.email.lower() in suppressed or contact.outreach_status in _NEVER_CONTACT:
        return "suppressed"
    if coordinate_with_outreach and contact.outreach_status != OutreachStatus.NEW:
        return "already_in_outreach"
    return None


def best_opportunity(
    contact: Contact, opportunities: Sequence[tuple[Opportunity, Score]], minimum: float
) -> uuid.UUID | None:
    """The best-scored open opportunity of the contact or of their whole account, if any
    reaches ``minimum`` (``opportunities`` come best first)."""
    return next(
        (
            o.id
            for o, s in opportunities
            if s.value >= minimum and o.contact_id in (None, contact.id)
        ),
        None,
    )


def hand_on_to_outreach(
    uow: UnitOfWork,
    task: Task,
    records: ScoringRecords,
    scored: ScoredRecords,
    config: ScoringConfig,
    pipeline: PipelineSpec,
    *,
    agent_id: uuid.UUID | None,
    now: datetime,
) -> dict[str, Any]:
    """Hand the top ``contacts_per_account`` eligible contacts scoring at least
    ``minRelevanceScore`` to outreach, never past ``maxOpportunitiesPerDay`` today."""
    minimum = config.min_relevance_score
    skipped = {"below_threshold": 0, "no_email": 0, "suppressed": 0, "already_in_outreach": 0}
    summary: dict[str, Any] = {"handed": [], "skipped": skipped, "capped": 0}
    if scored.account.value < minimum:
        skipped["below_threshold"] = len(scored.contacts)
        summary["reason"] = "account scored below min_relevance_score"
        _log(uow, task, "handoff.skipped", records, agent_id, reason=summary["reason"])
        return summary
    candidates: list[tuple[Contact, Score]] = []
    for contact, score in scored.contacts:
        reason = "below_threshold" if score.value < minimum else None
        reason = reason or ineligibility(
            contact, records.suppressed, coordinate_with_outreach=config.coordinate_with_outreach
        )
        if reason is not None:
            skipped[reason] += 1
            continue
        candidates.append((contact, score))
    wanted = candidates[: pipeline.contacts_per_account]
    if not wanted:
        return summary
    used = lock_and_count_handoffs(uow, task.tenant_id, agent_id, now)
    allowed = wanted[: max(0, config.max_opportunities_per_day - used)]
    summary["capped"] = len(wanted) - len(allowed)
    summary["daily_cap"] = {"limit": config.max_opportunities_per_day, "used_before": used}
    outreach_agent = pick_agent(
        uow, task.tenant_id, AgentType.OUTREACH, pipeline.agents.get(AgentType.OUTREACH)
    )
    for rank, (contact, score) in enumerate(allowed, start=1):
        opportunity_id = best_opportunity(contact, scored.opportunities, minimum)
        request = DraftOutreachInput(
            contact_id=contact.id,
            opportunity_id=opportunity_id,
            agent_id=outreach_agent,
            pipeline=pipeline,
        )
        created = hand_off(
            uow,
            task,
            HandOff(
                agent_type=AgentType.OUTREACH,
                task_type="draft_outreach",
                input=request.model_dump(mode="json"),
                key=str(contact.id),
                to_agent_id=outreach_agent,
            ),
        )
        if created is None:
            continue
        if config.coordinate_with_outreach:
            contact.outreach_status = OutreachStatus.QUEUED.value
        entry = {
            "contact_id": str(contact.id),
            "task_id": str(created.id),
            "opportunity_id": str(opportunity_id) if opportunity_id else None,
            "score": score.value,
            "rank": rank,
        }
        summary["handed"].append(entry)
        log_agent_action(
            uow,
            task,
            "contact.handed_off",
            entity_type="contact",
            entity_id=contact.id,
            agent_id=agent_id,
            **{k: v for k, v in entry.items() if k != "contact_id"},
        )
    summary["daily_cap"]["used_after"] = used + len(summary["handed"])
    if summary["capped"]:
        _log(
            uow,
            task,
            "handoff.capped",
            records,
            agent_id,
            limit=config.max_opportunities_per_day,
            used_today=used,
            held_back=summary["capped"],
        )
    return summary


def _log(
    uow: UnitOfWork,
    task: Task,
    action: str,
    records: ScoringRecords,
    agent_id: uuid.UUID | None,
    **details: Any,
) -> None:
    log_agent_action(
        uow,
        task,
        action,
        entity_type="account",
        entity_id=records.account.id,
        agent_id=agent_id,
        **details,
    )
