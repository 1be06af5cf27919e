"""Loads what an outreach draft is written from: contact, account, event and history.

The context handed to the model is keyed the way drafts cite their sources
(``contact.title``, ``account.intelligence.0.fact``, ``history.1.subject``); ``records`` maps
those paths to the rows they were read from, so every cited fact names its record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from shared.agents.config import OutreachConfig
from shared.db.base import utcnow
from shared.db.models import Account, Contact, Draft, Opportunity
from shared.db.unit_of_work import UnitOfWork
from shared.errors import NotFound
from shared.lifecycles import DraftStatus
from shared.task_inputs import DraftOutreachInput
from workers.outreach.intelligence import account_intelligence

__all__ = [
    "HISTORY_LIMIT",
    "OutreachContext",
    "RecordRef",
    "account_facts",
    "contact_facts",
    "load_outreach_context",
    "opportunity_facts",
    "recent_history",
]

HISTORY_LIMIT = 5
_HISTORY_STATUSES = (DraftStatus.PENDING_APPROVAL, DraftStatus.APPROVED, DraftStatus.SENT)

RecordRef = tuple[str, uuid.UUID]
"""``(record type, id)`` of the row a context value was read from."""


@dataclass(frozen=True)
class OutreachContext:
    contact_id: uuid.UUID
    account_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None
    facts: dict[str, Any]
    """The context handed to the model."""
    records: dict[str, RecordRef] = field(default_factory=dict)
    """Context path prefix → the record it came from (the longest prefix applies)."""

    @property
    def contact_name(self) -> str:
        contact = self.facts["contact"]
        return " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)

    @property
    def recipient(self) -> str:
        company = self.facts["contact"].get("company")
        return f"{self.contact_name} at {company}" if company else self.contact_name


def load_outreach_context(
    uow: UnitOfWork, tenant_id: uuid.UUID, request: DraftOutreachInput, config: OutreachConfig
) -> OutreachContext:
    """The context of one outreach draft, honouring the agent's context switches."""
    session = uow.session
    contact = session.scalars(
        sa.select(Contact).where(Contact.tenant_id == tenant_id, Contact.id == request.contact_id)
    ).first()
    if contact is None:
        raise NotFound(f"contact {request.contact_id} not found")
    account = _account(uow, tenant_id, contact.account_id)
    opportunity = (
        _opportunity(uow, tenant_id, contact, request.opportunity_id)
        if config.include_event_context
        else None
    )
    history, history_records = recent_history(uow, tenant_id, contact.id)
    facts: dict[str, Any] = {
        "contact": contact_facts(contact, account),
        "channel": request.channel.value,
        "tone": request.tone or config.message_tone,
        "max_words": request.max_words,
        "history": history,
    }
    records: dict[str, RecordRef] = {"contact": ("contact", contact.id), **history_records}
    if account is not None:
        facts["account"] = account_facts(account, config.include_account_intelligence)
        records["account"] = ("account", account.id)
        records["contact.company"] = ("account", account.id)
    if opportunity is not None:
        facts["opportunity"] = opportunity_facts(opportunity)
        records["opportunity"] = ("opportunity", opportunity.id)
    return OutreachContext(
        contact_id=contact.id,
        account_id=account.id if account else None,
        opportunity_id=opportunity.id if opportunity else None,
        facts=facts,
        records=records,
    )


def contact_facts(contact: Contact, account: Account | None) -> dict[str, Any]:
    return _compact(
        first_name=contact.first_name,
        last_name=contact.last_name,
        title=contact.title,
        seniority=contact.seniority,
        department=contact.department,
        email=contact.email,
        company=account.name if account else None,
    )


def account_facts(account: Account, include_intelligence: bool) -> dict[str, Any]:
    """Firmographics always; enrichment findings (with sources) and revenue only if asked."""
    facts = _compact(
        name=account.name,
        domain=account.domain,
        industry=account.industry,
        employee_count=account.employee_count,
        location=account.location,
        technologies=account.technologies or None,
    )
    if include_intelligence:
        facts.update(
            _compact(
                annual_revenue_usd=account.annual_revenue_usd,
                intelligence=account_intelligence(account.enrichment) or None,
            )
        )
    return facts


def opportunity_facts(opportunity: Opportunity) -> dict[str, Any]:
    return _compact(
        kind=opportunity.kind,
        title=opportunity.title,
        description=opportunity.description,
        event_date=opportunity.event_date.date().isoformat() if opportunity.event_date else None,
        location=opportunity.location,
        url=opportunity.url,
    )


def recent_history(
    uow: UnitOfWork, tenant_id: uuid.UUID, contact_id: uuid.UUID
) -> tuple[list[dict[str, Any]], dict[str, RecordRef]]:
    """The last :data:`HISTORY_LIMIT` messages drafted for the contact that went to review or
    out (newest first), and the draft each ``history.N`` entry came from."""
    rows = uow.session.execute(
        sa.select(
            Draft.id, Draft.subject, Draft.channel, Draft.status, Draft.step, Draft.created_at
        )
        .where(
            Draft.tenant_id == tenant_id,
            Draft.contact_id == contact_id,
            Draft.status.in_([s.value for s in _HISTORY_STATUSES]),
        )
        .order_by(Draft.created_at.desc(), Draft.id)
        .limit(HISTORY_LIMIT)
    ).all()
    history = [
        _compact(
            subject=row.subject,
            channel=row.channel,
            status=row.status,
            kind="followup" if row.step.startswith("followup") else "outreach",
            created_at=row.created_at.isoformat(),
        )
        for row in rows
    ]
    return history, {f"history.{i}": ("draft", row.id) for i, row in enumerate(rows)}


def _account(uow: UnitOfWork, tenant_id: uuid.UUID, account_id: uuid.UUID | None) -> Account | None:
    if account_id is None:
        return None
    return uow.session.scalars(
        sa.select(Account).where(Account.tenant_id == tenant_id, Account.id == account_id)
    ).first()


def _opportunity(
    uow: UnitOfWork, tenant_id: uuid.UUID, contact: Contact, opportunity_id: uuid.UUID | None
) -> Opportunity | None:
    """The named opportunity, else the contact's (then its account's) next one, if any."""
    query = sa.select(Opportunity).where(Opportunity.tenant_id == tenant_id)
    if opportunity_id is not None:
        found = uow.session.scalars(query.where(Opportunity.id == opportunity_id)).first()
        if found is None:
            raise NotFound(f"opportunity {opportunity_id} not found")
        return found
    mine = Opportunity.contact_id == contact.id
    related = (
        mine
        if contact.account_id is None
        else sa.or_(mine, Opportunity.account_id == contact.account_id)
    )
    upcoming = sa.or_(Opportunity.event_date.is_(None), Opportunity.event_date >= utcnow())
    return uow.session.scalars(
        query.where(related, upcoming)
        .order_by(
            mine.desc(),
            Opportunity.relevance_score.desc().nulls_last(),
            Opportunity.event_date.asc().nulls_last(),
            Opportunity.id,
        )
        .limit(1)
    ).first()


def _compact(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, "", [])}
