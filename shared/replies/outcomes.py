"""What a classified reply changes, applied once per reply in the classification's transaction.

* interested / not now / unsubscribe: a response of the matched send's agent (response
  count and time in its daily metrics, the first such reply per send only);
* unsubscribe: the contact's address is suppressed;
* hard bounce: the address is suppressed and the contact marked bounced;
* soft bounce: the stopped follow-ups come back at their original times;
* out of office: they come back after the contact's return date.

The last two also take the contact back out of ``replied``: an auto-response is no reply.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from shared.agents.activity import log_agent_action
from shared.agents.daily_metrics import bump_daily_metrics
from shared.db.base import utcnow
from shared.db.models import (
    Agent,
    Contact,
    Draft,
    InboundReply,
    MessageSend,
    OutreachStatus,
    SuppressionReason,
    Task,
)
from shared.db.unit_of_work import UnitOfWork
from shared.events import Event, EventType
from shared.lifecycles import ReplyCategory
from shared.replies.followups import StoppedFollowup, resume_at, resume_followups
from shared.replies.verdict import RESPONSE_CATEGORIES, ReplyVerdict
from shared.sending.suppression import suppress_address

__all__ = ["SUPPRESSION_SOURCE", "ClassificationOutcome", "apply_classification", "lock_reply"]

SUPPRESSION_SOURCE = "reply"
_RESTORABLE = frozenset({OutreachStatus.NEW, OutreachStatus.QUEUED, OutreachStatus.CONTACTED})


@dataclass(frozen=True)
class ClassificationOutcome:
    category: str
    effects: dict[str, Any]
    already_classified: bool
    """True when an earlier classification of the reply was applied; nothing changed now."""


def lock_reply(uow: UnitOfWork, tenant_id: uuid.UUID, reply_id: uuid.UUID) -> InboundReply | None:
    return uow.session.scalars(
        sa.select(InboundReply)
        .where(InboundReply.tenant_id == tenant_id, InboundReply.id == reply_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def apply_classification(
    uow: UnitOfWork, task: Task, reply: InboundReply, verdict: ReplyVerdict
) -> ClassificationOutcome:
    """Store the verdict on the (locked) reply and apply its effects, with
    ``reply.classified``; a reply classified before is left as it is."""
    if reply.classified_at is not None:
        return ClassificationOutcome(
            str(reply.category), dict(reply.classification.get("effects") or {}), True
        )
    effects: dict[str, Any] = {}
    category = verdict.category
    if category in RESPONSE_CATEGORIES:
        effects["counted_response"] = _count_response(uow, reply)
    if category is ReplyCategory.UNSUBSCRIBE:
        effects["suppressed"] = _suppress(uow, reply, SuppressionReason.UNSUBSCRIBED)
    elif verdict.is_hard_bounce:
        _set_contact_status(uow, reply, OutreachStatus.BOUNCED)
        effects["suppressed"] = _suppress(uow, reply, SuppressionReason.BOUNCED)
    elif category in (ReplyCategory.OUT_OF_OFFICE, ReplyCategory.BOUNCE):
        effects["contact_status"] = _restore_contact(uow, reply)
        resumed = _resume(uow, task, reply, verdict)
        effects["resumed_followups"] = [str(t.id) for t in resumed]
    reply.category = category.value
    reply.classification = {
        **reply.classification,
        "verdict": verdict.to_json(),
        "effects": effects,
    }
    reply.classified_at = utcnow()
    uow.record(
        Event(
            event_type=EventType.REPLY_CLASSIFIED,
            tenant_id=reply.tenant_id,
            aggregate_type="inbound_reply",
            aggregate_id=reply.id,
            trace_id=task.trace_id,
            payload={
                "reply_id": str(reply.id),
                "contact_id": str(reply.contact_id) if reply.contact_id else None,
                "send_id": str(reply.send_id) if reply.send_id else None,
                **verdict.to_json(),
                "effects": effects,
            },
        )
    )
    log_agent_action(
        uow,
        task,
        "reply.classified",
        entity_type="inbound_reply",
        entity_id=reply.id,
        category=category.value,
        effects=effects,
    )
    return ClassificationOutcome(category.value, effects, False)


def _count_response(uow: UnitOfWork, reply: InboundReply) -> bool:
    """Count the reply for the agent of the message it answers; False when there is none,
    or another reply to that message was counted already."""
    if reply.send_id is None or reply.response_time_s is None:
        return False
    # The send's row lock serialises replies to one message, so only one of them counts.
    send = uow.session.scalars(
        sa.select(MessageSend.id)
        .where(MessageSend.tenant_id == reply.tenant_id, MessageSend.id == reply.send_id)
        .with_for_update()
    ).first()
    if send is None:
        return False
    counted = uow.session.scalar(
        sa.select(sa.literal(True)).where(
            InboundReply.tenant_id == reply.tenant_id,
            InboundReply.send_id == reply.send_id,
            InboundReply.id != reply.id,
            InboundReply.classification["effects"]["counted_response"].as_boolean().is_(True),
        )
    )
    agent_type = _agent_type(uow, reply)
    if counted or agent_type is None:
        return False
    bump_daily_metrics(
        uow,
        tenant_id=reply.tenant_id,
        agent_id=reply.agent_id,
        agent_type=agent_type,
        day=reply.received_at.astimezone(UTC).date(),
        responses=1,
        response_time_s_total=reply.response_time_s,
    )
    return True


def _agent_type(uow: UnitOfWork, reply: InboundReply) -> str | None:
    if reply.agent_id is not None:
        return uow.session.scalar(
            sa.select(Agent.agent_type).where(
                Agent.tenant_id == reply.tenant_id, Agent.id == reply.agent_id
            )
        )
    if reply.draft_id is None:
        return None
    return uow.session.scalar(
        sa.select(Task.agent_type)
        .join(Draft, Draft.task_id == Task.id)
        .where(Draft.tenant_id == reply.tenant_id, Draft.id == reply.draft_id)
    )


def _addresses(uow: UnitOfWork, reply: InboundReply) -> list[str]:
    """The addresses the reply's contact is written to: the contact's and the send's."""
    found: list[str | None] = []
    if reply.contact_id is not None:
        found.append(
            uow.session.scalar(
                sa.select(Contact.email).where(
                    Contact.tenant_id == reply.tenant_id, Contact.id == reply.contact_id
                )
            )
        )
    if reply.send_id is not None:
        found.append(
            uow.session.scalar(
                sa.select(MessageSend.to_address).where(
                    MessageSend.tenant_id == reply.tenant_id, MessageSend.id == reply.send_id
                )
            )
        )
    return sorted({address.strip().lower() for address in found if address and address.strip()})


def _suppress(uow: UnitOfWork, reply: InboundReply, reason: SuppressionReason) -> list[str]:
    """Suppress the contact's addresses; returns those newly put on the list."""
    return [
        address
        for address in _addresses(uow, reply)
        if suppress_address(uow, reply.tenant_id, address, reason, SUPPRESSION_SOURCE)
    ]


def _lock_contact(uow: UnitOfWork, reply: InboundReply) -> Contact | None:
    if reply.contact_id is None:
        return None
    return uow.session.scalars(
        sa.select(Contact)
        .where(Contact.tenant_id == reply.tenant_id, Contact.id == reply.contact_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _set_contact_status(uow: UnitOfWork, reply: InboundReply, status: OutreachStatus) -> None:
    contact = _lock_contact(uow, reply)
    if contact is not None and contact.outreach_status != OutreachStatus.DO_NOT_CONTACT:
        contact.outreach_status = status.value


def _restore_contact(uow: UnitOfWork, reply: InboundReply) -> str | None:
    """Undo the ``replied`` mark recording put on the contact (the status it had before, or
    ``contacted``); a contact that replied for real earlier stays replied."""
    contact = _lock_contact(uow, reply)
    if contact is None:
        return None
    previous = reply.classification.get("previous_outreach_status")
    if contact.outreach_status == OutreachStatus.REPLIED and previous != OutreachStatus.REPLIED:
        restored = previous if previous in _RESTORABLE else OutreachStatus.CONTACTED
        contact.outreach_status = str(restored)
    return contact.outreach_status


def _resume(uow: UnitOfWork, task: Task, reply: InboundReply, verdict: ReplyVerdict) -> list[Task]:
    stopped = [
        StoppedFollowup.from_json(item)
        for item in reply.classification.get("stopped_followups") or []
    ]
    now = utcnow()
    due: list[tuple[StoppedFollowup, datetime]] = [
        (
            item,
            resume_at(item.scheduled_at, verdict.out_of_office_until, now=now)
            if verdict.category is ReplyCategory.OUT_OF_OFFICE
            else item.scheduled_at or now,
        )
        for item in stopped
    ]
    return resume_followups(uow, task, reply.id, due)
