"""Scoring one account with its contacts and open opportunities, and handing the best contacts
on to outreach within the agent's daily cap: one transaction, no provider calls."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog

from shared.agent_types import AgentType
from shared.agents.activity import log_agent_action
from shared.agents.config import ScoringConfig
from shared.agents.runtime_config import agent_config
from shared.db.base import utcnow
from shared.db.unit_of_work import UnitOfWork
from shared.domain.tasks import complete_task, lock_running_task
from shared.envelope import TaskEnvelope
from shared.task_inputs import ScoreRecordsInput
from workers.runtime.context import WorkerContext
from workers.runtime.task_runner import TaskRun
from workers.scoring.criteria import is_open, score_account, score_contact, score_opportunity
from workers.scoring.handoffs import hand_on_to_outreach
from workers.scoring.model import OpportunityFacts
from workers.scoring.records import (
    ScoredRecords,
    ScoringRecords,
    account_facts,
    contact_facts,
    load_icp,
    load_records,
    opportunity_facts,
)

__all__ = ["score_records"]

log = structlog.get_logger(__name__)


def score_records(
    ctx: WorkerContext, envelope: TaskEnvelope, request: ScoreRecordsInput, run: TaskRun
) -> None:
    """The scoring agent's step. A repeat delivery after success writes nothing."""
    now = utcnow()
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        task = lock_running_task(uow, run.tenant_id, run.task_id)
        if task is None:
            log.info("task.skipped", task_id=str(run.task_id), reason="no longer in progress")
            return
        agent_id = request.agent_id or task.agent_id
        config = agent_config(uow, run.tenant_id, agent_id, AgentType.SCORING, ScoringConfig)
        records = load_records(uow, run.tenant_id, request.account_id)
        scored = _score(uow, records, config, request, now)
        _write_scores(records, scored, task_id=run.task_id, now=now)
        count = 1 + len(scored.contacts) + len(scored.opportunities)
        log_agent_action(
            uow,
            task,
            "records.scored",
            entity_type="account",
            entity_id=records.account.id,
            agent_id=agent_id,
            account_score=scored.account.value,
            contacts=len(scored.contacts),
            opportunities=len(scored.opportunities),
        )
        output: dict[str, Any] = {
            "account_id": str(records.account.id),
            "account_score": scored.account.value,
            "min_relevance_score": config.min_relevance_score,
            "ranked_contacts": [
                {"contact_id": str(c.id), "score": s.value} for c, s in scored.contacts
            ],
            "ranked_opportunities": [
                {"opportunity_id": str(o.id), "score": s.value} for o, s in scored.opportunities
            ],
            "scored": count,
        }
        identified = 0
        if request.pipeline is not None:
            output["hand_offs"] = hand_on_to_outreach(
                uow, task, records, scored, config, request.pipeline, agent_id=agent_id, now=now
            )
            identified = len(output["hand_offs"]["handed"])
        complete_task(
            uow, task, output, succeeded=count, metrics={"opportunities_identified": identified}
        )
        uow.commit()


def _score(
    uow: UnitOfWork,
    records: ScoringRecords,
    config: ScoringConfig,
    request: ScoreRecordsInput,
    now: datetime,
) -> ScoredRecords:
    icp = load_icp(uow, records.account.tenant_id, request.pipeline)
    prioritize = config.prioritize_by_signal_strength
    facts = {o.id: opportunity_facts(o) for o in records.opportunities}
    signals: list[OpportunityFacts] = [
        f for f in facts.values() if f.kind == "signal" and is_open(f, now)
    ]
    account = score_account(
        account_facts(records.account), signals, icp, now, prioritize_signals=prioritize
    )
    contacts = [(c, score_contact(contact_facts(c), account, icp)) for c in records.contacts]
    opportunities = [
        (o, score_opportunity(facts[o.id], account, now, prioritize_signals=prioritize))
        for o in records.opportunities
        if is_open(facts[o.id], now)
    ]
    return ScoredRecords(
        account=account,
        contacts=sorted(contacts, key=lambda pair: (-pair[1].value, str(pair[0].id))),
        opportunities=sorted(opportunities, key=lambda pair: (-pair[1].value, str(pair[0].id))),
    )


def _write_scores(
    records: ScoringRecords, scored: ScoredRecords, *, task_id: uuid.UUID, now: datetime
) -> None:
    context = {"task_id": str(task_id), "scored_at": now.isoformat()}
    account = records.account
    account.score = scored.account.value
    account.score_explanation = scored.account.explanation(**context)
    account.version += 1
    for contact, score in scored.contacts:
        contact.score = score.value
        contact.enrichment = {
            **(contact.enrichment or {}),
            "score_explanation": score.explanation(**context),
        }
        contact.version += 1
    for opportunity, score in scored.opportunities:
        opportunity.relevance_score = score.value
        opportunity.data = {
            **(opportunity.data or {}),
            "score_explanation": score.explanation(**context),
        }
        opportunity.version += 1
