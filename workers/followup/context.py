"""Loads what a follow-up is written from: the earlier draft, its contact, account and event,
and whether the sequence must stop (the contact replied, bounced, opted out or is suppressed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from shared.db.models import (
    Account,
    Channel,
    Contact,
    Draft,
    Opportunity,
    OutreachStatus,
    SuppressedAddress,
)
from shared.db.unit_of_work import UnitOfWork
from shared.errors import NotFound
from shared.lifecycles import DraftStatus
from shared.task_inputs import DraftFollowupInput
from workers.outreach.context import (
    RecordRef,
    account_facts,
    contact_facts,
    opportunity_facts,
    recent_history,
)

__all__ = [
    "STOP_STATUSES",
    "FollowupContext",
    "load_followup_context",
    "original_facts",
]

STOP_STATUSES = frozenset(
    {
        OutreachStatus.REPLIED,
        OutreachStatus.BOUNCED,
        OutreachStatus.UNSUBSCRIBED,
        OutreachStatus.DO_NOT_CONTACT,
    }
)
_NEVER_SENT = frozenset({DraftStatus.DRAFT, DraftStatus.REJECTED})


@dataclass(frozen=True)
class FollowupContext:
    original_id: uuid.UUID
    contact_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None
    channel: Channel
    stop_reason: str | None
    facts: dict[str, Any] = field(default_factory=dict)
    records: dict[str, RecordRef] = field(default_factory=dict)
    recipient: str = ""


def load_followup_context(
    uow: UnitOfWork, tenant_id: uuid.UUID, request: DraftFollowupInput
) -> FollowupContext:
    """The earlier draft's context, or a stop reason when no follow-up should be written."""
    session = uow.session
    original = session.scalars(
        sa.select(Draft).where(Draft.tenant_id == tenant_id, Draft.id == request.draft_id)
    ).first()
    if original is None:
        raise NotFound(f"draft {request.draft_id} not found")
    channel = Channel(original.channel)
    contact = (
        session.scalars(
            sa.select(Contact).where(
                Contact.tenant_id == tenant_id, Contact.id == original.contact_id
            )
        ).first()
        if original.contact_id
        else None
    )
    stop = _stop_reason(uow, tenant_id, original, contact)
    if stop is not None or contact is None:
        return FollowupContext(
            original.id, original.contact_id, original.opportunity_id, channel, stop
        )
    account = (
        session.scalars(
            sa.select(Account).where(
                Account.tenant_id == tenant_id, Account.id == contact.account_id
            )
        ).first()
        if contact.account_id
        else None
    )
    opportunity = (
        session.scalars(
            sa.select(Opportunity).where(
                Opportunity.tenant_id == tenant_id, Opportunity.id == original.opportunity_id
            )
        ).first()
        if original.opportunity_id
        else None
    )
    history, records = recent_history(uow, tenant_id, contact.id)
    earlier_context = original.personalization.get("context") or {}
    facts: dict[str, Any] = {
        "contact": contact_facts(contact, account),
        "channel": channel.value,
        "tone": earlier_context.get("tone") or "professional",
        "max_words": request.max_words,
        "history": history,
        "followup": {"attempt": request.attempt, "original": original_facts(original)},
    }
    records = {**records, "contact": ("contact", contact.id), "followup.original": _ref(original)}
    if account is not None:
        facts["account"] = account_facts(account, include_intelligence=True)
        records["account"] = records["contact.company"] = ("account", account.id)
    if opportunity is not None:
        facts["opportunity"] = opportunity_facts(opportunity)
        records["opportunity"] = ("opportunity", opportunity.id)
    company = facts["contact"].get("company")
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return FollowupContext(
        original_id=original.id,
        contact_id=contact.id,
        opportunity_id=opportunity.id if opportunity else None,
        channel=channel,
        stop_reason=None,
        facts=facts,
        records=records,
        recipient=f"{name} at {company}" if company else name,
    )


def original_facts(original: Draft) -> dict[str, Any]:
    """The earlier message as the follow-up prompt shows it."""
    return {
        key: value
        for key, value in {
            "subject": original.subject,
            "body": original.body,
            "channel": original.channel,
            "status": original.status,
            "created_at": original.created_at.isoformat(),
            "sent_at": original.sent_at.isoformat() if original.sent_at else None,
        }.items()
        if value
    }


def _stop_reason(
    uow: UnitOfWork, tenant_id: uuid.UUID, original: Draft, contact: Contact | None
) -> str | None:
    if DraftStatus(original.status) in _NEVER_SENT:
        return f"the earlier draft was never approved (status {original.status})"
    if contact is None:
        return "the contact no longer exists"
    if contact.outreach_status in STOP_STATUSES:
        return f"the contact's outreach status is {contact.outreach_status}"
    if contact.email:
        reason = uow.session.scalar(
            sa.select(SuppressedAddress.reason).where(
                SuppressedAddress.tenant_id == tenant_id,
                sa.func.lower(SuppressedAddress.email) == contact.email.lower(),
            )
        )
        if reason is not None:
            return f"the contact's address is on the suppression list ({reason})"
    return None


def _ref(draft: Draft) -> RecordRef:
    return ("draft", draft.id)
