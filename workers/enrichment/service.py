"""Enriching one account: Apollo organization enrich → facts with sources → LLM summary →
account, signals and the pipeline's hand-off, written in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from shared.agent_types import AgentType
from shared.agents.config import EnrichmentConfig
from shared.agents.runtime_config import agent_config
from shared.apollo import Organization
from shared.db.base import utcnow
from shared.db.models import Account, Provider, UsageOutcome
from shared.db.unit_of_work import UnitOfWork
from shared.domain.handoffs import hand_account_on
from shared.domain.tasks import complete_task, lock_running_task
from shared.envelope import TaskEnvelope
from shared.errors import AgentfleetError, NotFound, PermanentError
from shared.llm import LlmClient, LlmResult
from shared.task_inputs import EnrichAccountInput
from shared.usage import ProviderCall
from workers.enrichment.facts import OrganizationFacts, organization_facts
from workers.enrichment.prompt import PROMPT_VERSION, build_messages, input_hash, summary_schema
from workers.enrichment.store import lock_account, write_enrichment
from workers.runtime.context import WorkerContext
from workers.runtime.provider_calls import ask_json, bill_call, record_failed_call
from workers.runtime.task_runner import TaskRun

__all__ = ["ENRICH_STEP", "SUMMARY_STEP", "enrich_account"]

ENRICH_STEP = "organization_enrich"
SUMMARY_STEP = "summary"
_LLM_OPERATION = "generate_json"
TEMPERATURE = 0.2
MAX_TOKENS = 600

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Target:
    name: str
    domain: str


@dataclass(frozen=True)
class _Summary:
    llm: LlmClient
    result: LlmResult
    prompt_hash: str


def enrich_account(
    ctx: WorkerContext, envelope: TaskEnvelope, request: EnrichAccountInput, run: TaskRun
) -> None:
    """The enrichment agent's step. A repeat delivery after success writes nothing."""
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        config = agent_config(
            uow, run.tenant_id, request.agent_id, AgentType.ENRICHMENT, EnrichmentConfig
        )
        target = _load_target(uow.session, run.tenant_id, request.account_id)
    organization = _enrich(ctx, run, request, target.domain)
    found = organization_facts(
        organization, config, utcnow(), account_name=target.name, domain=target.domain
    )
    summary = _summarise(ctx, run, request, found)
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        task = lock_running_task(uow, run.tenant_id, run.task_id)
        if task is None:
            _bill_summary(uow, ctx, run, request, summary)
            uow.commit()
            log.info("task.skipped", task_id=str(run.task_id), reason="no longer in progress")
            return
        account = lock_account(uow, run.tenant_id, request.account_id)
        sections = _sections(found, summary, config, task_id=run.task_id)
        signal_ids = write_enrichment(
            uow, task, account, found, sections, agent_id=request.agent_id
        )
        output: dict[str, Any] = {
            "account_id": str(account.id),
            "facts": sorted(found.facts),
            "signal_ids": [str(i) for i in signal_ids],
            "version": account.version,
        }
        if request.pipeline is not None:
            next_task = hand_account_on(
                uow, task, account.id, AgentType.CONTACT_FINDER, request.pipeline
            )
            output["handed_off_task_id"] = str(next_task)
        _bill_summary(uow, ctx, run, request, summary)
        complete_task(uow, task, output)
        uow.commit()


def _load_target(session: Session, tenant_id: uuid.UUID, account_id: uuid.UUID) -> _Target:
    row = session.execute(
        sa.select(Account.name, Account.domain).where(
            Account.tenant_id == tenant_id, Account.id == account_id
        )
    ).first()
    if row is None:
        raise NotFound(f"account {account_id} not found")
    if not row.domain:
        raise PermanentError(f"account {account_id} has no domain to enrich by")
    return _Target(name=row.name, domain=row.domain)


def _enrich(
    ctx: WorkerContext, run: TaskRun, request: EnrichAccountInput, domain: str
) -> Organization:
    """Apollo's answer for ``domain``, billed at once: a later step failing does not unbill it."""
    apollo = ctx.providers.apollo(run.tenant_id)
    try:
        organization = apollo.enrich_organization(domain)
    except ValueError as exc:
        raise PermanentError(str(exc)) from None
    except AgentfleetError as exc:
        record_failed_call(
            ctx,
            run,
            provider=Provider.APOLLO.value,
            model=None,
            operation=ENRICH_STEP,
            agent_id=request.agent_id,
            error=exc,
        )
        raise
    call = ProviderCall(
        provider=Provider.APOLLO.value,
        model=None,
        operation=ENRICH_STEP,
        outcome=UsageOutcome.OK,
        credits=organization.credits_used,
        latency_ms=organization.latency_ms,
    )
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        bill_call(uow, ctx, run, call, step=ENRICH_STEP, agent_id=request.agent_id)
        uow.commit()
    return organization


def _summarise(
    ctx: WorkerContext, run: TaskRun, request: EnrichAccountInput, found: OrganizationFacts
) -> _Summary:
    messages = build_messages(found.facts)
    llm = ctx.providers.llm(run.tenant_id, agent_id=request.agent_id)
    result = ask_json(
        ctx,
        run,
        llm,
        messages,
        schema_name="account_summary",
        schema=summary_schema(list(found.facts)),
        temperature=TEMPERATURE,
        max_tokens=MAX_TOKENS,
        operation=_LLM_OPERATION,
        agent_id=request.agent_id,
    )
    parameters = {"temperature": TEMPERATURE, "max_tokens": MAX_TOKENS}
    return _Summary(llm=llm, result=result, prompt_hash=input_hash(messages, llm.model, parameters))


def _sections(
    found: OrganizationFacts,
    summary: _Summary,
    config: EnrichmentConfig,
    *,
    task_id: uuid.UUID,
) -> dict[str, Any]:
    """This run's part of ``account.enrichment``: every fact and the summary with its source."""
    answer = summary.result.data
    key_facts = [
        {
            "fact": item["fact"],
            "source_field": item["source_field"],
            "source": found.facts[item["source_field"]]["source"],
            "field": found.facts[item["source_field"]]["field"],
        }
        for item in answer.get("key_facts", [])
        if item.get("source_field") in found.facts
    ]
    now = utcnow().isoformat()
    sections: dict[str, Any] = {
        "facts": found.facts,
        "summary": {
            "text": answer["summary"],
            "key_facts": key_facts,
            "source": {
                "kind": "llm",
                "provider": summary.llm.provider,
                "model": summary.result.model,
                "prompt_version": PROMPT_VERSION,
                "input_hash": summary.prompt_hash,
                "request_id": summary.result.request_id,
            },
            "generated_at": now,
        },
        "enriched_at": now,
        "task_id": str(task_id),
        "options": {
            "include_news": config.include_news,
            "include_technologies": config.include_technologies,
            "include_intent_signals": config.include_intent_signals,
        },
    }
    if config.include_news:
        sections["news"] = found.news
    if config.include_intent_signals:
        sections["intent_signals"] = []
    return sections


def _bill_summary(
    uow: UnitOfWork,
    ctx: WorkerContext,
    run: TaskRun,
    request: EnrichAccountInput,
    summary: _Summary,
) -> None:
    result = summary.result
    call = ProviderCall(
        provider=summary.llm.provider,
        model=result.model,
        operation=_LLM_OPERATION,
        outcome=UsageOutcome.OK,
        tokens_in=result.tokens_in,
        tokens_out=result.tokens_out,
        latency_ms=result.latency_ms,
    )
    bill_call(uow, ctx, run, call, step=SUMMARY_STEP, agent_id=request.agent_id)
