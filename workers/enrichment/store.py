"""Writing an enrichment: the account's columns and document, its signals, the hand-off."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from shared.agents.activity import log_agent_action
from shared.db.models import Account, Opportunity, OpportunityKind, Task
from shared.db.unit_of_work import UnitOfWork
from shared.errors import NotFound
from workers.enrichment.facts import APOLLO_SOURCE, OrganizationFacts, account_updates

__all__ = ["SECTIONS", "lock_account", "write_enrichment"]

SECTIONS = ("facts", "summary", "news", "intent_signals", "enriched_at", "task_id", "options")
"""Keys of ``account.enrichment`` this agent owns; other agents' keys are kept."""


def lock_account(uow: UnitOfWork, tenant_id: uuid.UUID, account_id: uuid.UUID) -> Account:
    account = uow.session.scalars(
        sa.select(Account)
        .where(Account.tenant_id == tenant_id, Account.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if account is None:
        raise NotFound(f"account {account_id} not found")
    return account


def write_enrichment(
    uow: UnitOfWork,
    task: Task,
    account: Account,
    found: OrganizationFacts,
    sections: dict[str, Any],
    *,
    agent_id: uuid.UUID | None,
) -> list[uuid.UUID]:
    """Update the locked ``account`` from ``found`` and record its signals; the signal ids."""
    for column, value in account_updates(found.facts).items():
        setattr(account, column, value)
    signal_ids = _record_signals(uow, task, account, found, agent_id=agent_id)
    document = {k: v for k, v in (account.enrichment or {}).items() if k not in SECTIONS}
    document |= sections
    if "intent_signals" in sections:
        document["intent_signals"] = [
            {"title": s.title, "strength": s.strength, "opportunity_id": str(i), **s.fact}
            for s, i in zip(found.signals, signal_ids, strict=True)
        ]
    account.enrichment = document
    account.version += 1
    log_agent_action(
        uow,
        task,
        "account.enriched",
        entity_type="account",
        entity_id=account.id,
        agent_id=agent_id,
        facts=sorted(found.facts),
        signals=len(signal_ids),
        version=account.version,
    )
    return signal_ids


def _record_signals(
    uow: UnitOfWork,
    task: Task,
    account: Account,
    found: OrganizationFacts,
    *,
    agent_id: uuid.UUID | None,
) -> list[uuid.UUID]:
    """One ``signal`` opportunity per account and title: refreshed if it exists, else added.

    The account row is locked, so concurrent enrichments of one account cannot both insert.
    """
    ids: list[uuid.UUID] = []
    for signal in found.signals:
        data = {"strength": signal.strength, "fact": signal.fact}
        existing = uow.session.scalars(
            sa.select(Opportunity).where(
                Opportunity.tenant_id == account.tenant_id,
                Opportunity.account_id == account.id,
                Opportunity.kind == OpportunityKind.SIGNAL.value,
                Opportunity.title == signal.title,
            )
        ).first()
        if existing is not None:
            existing.description = signal.description
            existing.data = {**(existing.data or {}), **data}
            existing.version += 1
            ids.append(existing.id)
            continue
        opportunity = Opportunity(
            id=uuid.uuid4(),
            tenant_id=account.tenant_id,
            account_id=account.id,
            kind=OpportunityKind.SIGNAL.value,
            title=signal.title,
            description=signal.description,
            source=APOLLO_SOURCE,
            data=data,
        )
        uow.session.add(opportunity)
        log_agent_action(
            uow,
            task,
            "signal.recorded",
            entity_type="opportunity",
            entity_id=opportunity.id,
            agent_id=agent_id,
            title=signal.title,
            strength=signal.strength,
        )
        ids.append(opportunity.id)
    uow.session.flush()
    return ids
