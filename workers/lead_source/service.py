"""Sourcing leads: the ICP as an Apollo organization search → accounts, then approval or the
pipeline, all settled in one transaction."""

from __future__ import annotations

from typing import Any

import structlog

from shared.agent_types import AgentType
from shared.agents.activity import log_agent_action
from shared.agents.config import LeadSourceConfig
from shared.agents.runtime_config import agent_config
from shared.apollo import Organization, OrganizationSearch
from shared.db.models import Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.lead_imports import hand_on_accounts
from shared.domain.tasks import complete_task, lock_running_task
from shared.envelope import TaskEnvelope
from shared.errors import AgentfleetError
from shared.task_inputs import PipelineSpec, SourceLeadsInput
from workers.lead_source.accounts import (
    Found,
    ImportedAccount,
    found_organizations,
    import_accounts,
)
from workers.lead_source.approval import write_lead_import_item
from workers.lead_source.icp import organization_query, pages_to_fetch
from workers.runtime.apollo_usage import ApolloSpend
from workers.runtime.context import WorkerContext
from workers.runtime.task_runner import TaskRun

__all__ = ["SEARCH_OPERATION", "source_leads"]

SEARCH_OPERATION = "organization_search"

log = structlog.get_logger(__name__)


def source_leads(
    ctx: WorkerContext, envelope: TaskEnvelope, request: SourceLeadsInput, run: TaskRun
) -> None:
    """The lead_source agent's one step. A repeat delivery after success writes nothing."""
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        config = agent_config(
            uow, run.tenant_id, request.agent_id, AgentType.LEAD_SOURCE, LeadSourceConfig
        )
    query = organization_query(config, request.icp, per_page=request.per_page)
    spend = ApolloSpend(run, request.agent_id)
    organizations: list[Organization] = []
    apollo = ctx.providers.apollo(run.tenant_id)
    try:
        pages = apollo.iter_organizations(query, max_pages=pages_to_fetch(config, request))
        for number, page in enumerate(pages, start=query.page):
            spend.add(
                f"search:page:{number}",
                SEARCH_OPERATION,
                credits=page.credits_used,
                latency_ms=page.latency_ms,
            )
            organizations.extend(page.organizations)
    except AgentfleetError as exc:
        spend.bill_failure(ctx, SEARCH_OPERATION, exc)
        raise
    found = found_organizations(organizations)
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        task = lock_running_task(uow, run.tenant_id, run.task_id)
        spend.bill(uow, ctx)
        if task is None:
            # Cancelled while searching: no accounts, but the pages were paid for.
            uow.commit()
            log.info("task.skipped", task_id=str(run.task_id), reason="no longer in progress")
            return
        imported = import_accounts(uow, task, found)
        _log_results(uow, task, imported, found)
        output = _settle(uow, ctx, task, request, config, imported, found, spend, query)
        complete_task(uow, task, output, succeeded=len(imported), failed=len(found.without_domain))
        uow.commit()


def _settle(
    uow: UnitOfWork,
    ctx: WorkerContext,
    task: Task,
    request: SourceLeadsInput,
    config: LeadSourceConfig,
    imported: list[ImportedAccount],
    found: Found,
    spend: ApolloSpend,
    query: OrganizationSearch,
) -> dict[str, Any]:
    """Ask for approval or hand the accounts on; the task's output."""
    counts = {
        "organizations_seen": found.seen,
        "repeats": found.repeats,
        "imported": len(imported),
        "created": sum(1 for account in imported if account.created),
        "skipped": len(found.without_domain),
    }
    output: dict[str, Any] = {
        **counts,
        "pages": len(spend.calls),
        "credits": spend.credits,
        "account_ids": [str(account.account_id) for account in imported],
        "approval_required": config.approval_required,
    }
    pipeline = (
        PipelineSpec(
            run_id=task.id,
            agents=request.pipeline_agents,
            contacts_per_account=request.contacts_per_account,
        )
        if request.run_pipeline
        else None
    )
    if config.approval_required and imported:
        item = write_lead_import_item(
            uow,
            task,
            agent_id=request.agent_id,
            accounts=imported,
            query=query,
            counts=counts,
            pipeline=pipeline,
            ttl_hours=ctx.settings.approval_default_ttl_hours,
        )
        log_agent_action(
            uow,
            task,
            "lead_import.requested",
            entity_type="approval_item",
            entity_id=item.id,
            agent_id=request.agent_id,
            accounts=len(imported),
        )
        output["approval_item_id"] = str(item.id)
    elif pipeline is not None and not config.approval_required:
        handed = hand_on_accounts(uow, task, [a.account_id for a in imported], pipeline)
        output["handed_off_task_ids"] = [str(task_id) for task_id in handed]
    return output


def _log_results(
    uow: UnitOfWork, task: Task, imported: list[ImportedAccount], found: Found
) -> None:
    for account in imported:
        log_agent_action(
            uow,
            task,
            "account.imported",
            entity_type="account",
            entity_id=account.account_id,
            domain=account.domain,
            created=account.created,
        )
    for organization in found.without_domain:
        log_agent_action(
            uow,
            task,
            "account.skipped",
            apollo_id=organization.id,
            name=organization.name,
            reason="no domain",
        )
