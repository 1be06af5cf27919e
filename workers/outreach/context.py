"""Loads what an outreach draft is written from: contact, account, opportunity and history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shared.db.models import Account, Contact, Draft, Opportunity
from shared.db.unit_of_work import UnitOfWork
from shared.errors import NotFound
from shared.task_inputs import DraftOutreachInput

__all__ = ["HISTORY_LIMIT", "OutreachContext", "load_outreach_context"]

HISTORY_LIMIT = 5


@dataclass(frozen=True)
class OutreachContext:
    contact_id: uuid.UUID
    account_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None
    facts: dict[str, Any]
    """The context handed to the model, keyed the way drafts cite their sources."""

    @property
    def contact_name(self) -> str:
        contact = self.facts["contact"]
        return " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)


def load_outreach_context(
    uow: UnitOfWork, tenant_id: uuid.UUID, request: DraftOutreachInput
) -> OutreachContext:
    session = uow.session
    contact = session.scalars(
        sa.select(Contact).where(Contact.tenant_id == tenant_id, Contact.id == request.contact_id)
    ).first()
    if contact is None:
        raise NotFound(f"contact {request.contact_id} not found")
    account = (
        session.scalars(
            sa.select(Account).where(
                Account.tenant_id == tenant_id, Account.id == contact.account_id
            )
        ).first()
        if contact.account_id
        else None
    )
    opportunity = None
    if request.opportunity_id is not None:
        opportunity = session.scalars(
            sa.select(Opportunity).where(
                Opportunity.tenant_id == tenant_id, Opportunity.id == request.opportunity_id
            )
        ).first()
        if opportunity is None:
            raise NotFound(f"opportunity {request.opportunity_id} not found")
    history = session.execute(
        sa.select(Draft.subject, Draft.channel, Draft.status, Draft.created_at)
        .where(Draft.tenant_id == tenant_id, Draft.contact_id == contact.id)
        .order_by(Draft.created_at.desc())
        .limit(HISTORY_LIMIT)
    ).all()
    facts: dict[str, Any] = {
        "contact": _compact(
            first_name=contact.first_name,
            last_name=contact.last_name,
            title=contact.title,
            email=contact.email,
            company=account.name if account else None,
        ),
        "channel": request.channel.value,
        "tone": request.tone or "professional",
        "max_words": request.max_words,
        "history": [
            {"subject": s, "channel": c, "status": st, "created_at": at.isoformat()}
            for s, c, st, at in history
        ],
    }
    if account is not None:
        facts["account"] = _compact(
            name=account.name,
            industry=account.industry,
            employee_count=account.employee_count,
            location=account.location,
            technologies=account.technologies or None,
        )
    if opportunity is not None:
        facts["opportunity"] = _compact(
            kind=opportunity.kind,
            title=opportunity.title,
            description=opportunity.description,
            event_date=opportunity.event_date.date().isoformat()
            if opportunity.event_date
            else None,
            location=opportunity.location,
        )
    return OutreachContext(
        contact_id=contact.id,
        account_id=account.id if account else None,
        opportunity_id=opportunity.id if opportunity else None,
        facts=facts,
    )


def _compact(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, "", [])}
