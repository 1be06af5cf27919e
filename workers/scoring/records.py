"""Loading what one scoring step works on: the account, its contacts and opportunities, the ICP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from shared.agent_types import AgentType
from shared.agents.config import ContactFinderConfig, LeadSourceConfig
from shared.agents.runtime_config import agent_config, pick_agent
from shared.db.models import Account, Contact, Opportunity, SuppressedAddress
from shared.db.unit_of_work import UnitOfWork
from shared.errors import NotFound
from shared.task_inputs import PipelineSpec
from workers.scoring.model import AccountFacts, ContactFacts, Icp, OpportunityFacts, Score

__all__ = [
    "ScoredRecords",
    "ScoringRecords",
    "account_facts",
    "contact_facts",
    "load_icp",
    "load_records",
    "opportunity_facts",
]


@dataclass(frozen=True)
class ScoringRecords:
    account: Account
    contacts: list[Contact]
    opportunities: list[Opportunity]
    suppressed: frozenset[str]
    """Lower-cased addresses of the account's contacts that are on the suppression list."""


@dataclass(frozen=True)
class ScoredRecords:
    account: Score
    contacts: list[tuple[Contact, Score]]
    """Best first."""
    opportunities: list[tuple[Opportunity, Score]]
    """Open ones, best first."""


def load_records(uow: UnitOfWork, tenant_id: uuid.UUID, account_id: uuid.UUID) -> ScoringRecords:
    """The account (locked, so one scoring of it runs at a time) with its contacts and
    opportunities, in a stable order."""
    session = uow.session
    account = session.scalars(
        sa.select(Account)
        .where(Account.tenant_id == tenant_id, Account.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if account is None:
        raise NotFound(f"account {account_id} not found")
    contacts = list(
        session.scalars(
            sa.select(Contact)
            .where(Contact.tenant_id == tenant_id, Contact.account_id == account_id)
            .order_by(Contact.id)
        )
    )
    opportunities = list(
        session.scalars(
            sa.select(Opportunity)
            .where(Opportunity.tenant_id == tenant_id, Opportunity.account_id == account_id)
            .order_by(Opportunity.id)
        )
    )
    emails = {c.email.lower() for c in contacts if c.email}
    suppressed: set[str] = set()
    if emails:
        suppressed = {
            email.lower()
            for email in session.scalars(
                sa.select(SuppressedAddress.email).where(
                    SuppressedAddress.tenant_id == tenant_id,
                    sa.func.lower(SuppressedAddress.email).in_(emails),
                )
            )
        }
    return ScoringRecords(account, contacts, opportunities, frozenset(suppressed))


def load_icp(uow: UnitOfWork, tenant_id: uuid.UUID, pipeline: PipelineSpec | None) -> Icp:
    """The ICP of the tenant's lead-source agent and the targets of its contact-finder agent
    (the pipeline's own agents first); an empty ICP when the tenant has neither."""
    chosen = pipeline.agents if pipeline is not None else {}
    lead_agent = pick_agent(
        uow, tenant_id, AgentType.LEAD_SOURCE, chosen.get(AgentType.LEAD_SOURCE)
    )
    finder_agent = pick_agent(
        uow, tenant_id, AgentType.CONTACT_FINDER, chosen.get(AgentType.CONTACT_FINDER)
    )
    lead = agent_config(uow, tenant_id, lead_agent, AgentType.LEAD_SOURCE, LeadSourceConfig)
    finder = agent_config(
        uow, tenant_id, finder_agent, AgentType.CONTACT_FINDER, ContactFinderConfig
    )
    ranges: list[tuple[int, int | None]] = []
    for item in lead.employee_ranges:
        low, _, high = item.partition(",")
        ranges.append((int(low), int(high) if high else None))
    return Icp(
        industries=tuple(lead.industries),
        employee_ranges=tuple(ranges),
        revenue_min=lead.revenue_range.min,
        revenue_max=lead.revenue_range.max,
        locations=tuple(lead.locations),
        technologies=tuple(lead.technologies),
        titles=tuple(finder.titles),
        seniorities=tuple(finder.seniorities),
    )


def account_facts(account: Account) -> AccountFacts:
    return AccountFacts(
        industry=account.industry,
        employee_count=account.employee_count,
        annual_revenue_usd=account.annual_revenue_usd,
        location=account.location,
        technologies=tuple(str(t) for t in account.technologies or ()),
    )


def contact_facts(contact: Contact) -> ContactFacts:
    return ContactFacts(
        title=contact.title, seniority=contact.seniority, has_email=bool(contact.email)
    )


def opportunity_facts(opportunity: Opportunity) -> OpportunityFacts:
    data = opportunity.data or {}
    strength = data.get("strength")
    seen_at: datetime = opportunity.updated_at or opportunity.created_at
    return OpportunityFacts(
        kind=opportunity.kind,
        seen_at=seen_at,
        event_date=opportunity.event_date,
        strength=str(strength).lower() if strength else None,
        data=data,
    )
