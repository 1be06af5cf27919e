"""Everything that follows from a message having gone out, written in one transaction.

The sender calls :func:`record_sent` after the SMTP server accepted a message; a person calls it
(through the API) when marking a LinkedIn message sent by hand or confirming that a send whose
outcome was unknown did arrive. It knows nothing of SMTP.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import structlog

from shared.agents.daily_metrics import bump_daily_metrics
from shared.db.models import Channel, Contact, Draft, Mailbox, MessageSend, OutreachStatus, Task
from shared.db.unit_of_work import UnitOfWork
from shared.events import EventType
from shared.lifecycles import DraftStatus, SendStatus, check_transition
from shared.sending.followups import schedule_followup_after_send
from shared.sending.mailboxes import PLATFORM_MAILBOX
from shared.sending.records import log_send_activity, send_event

__all__ = ["KEEPS_OUTREACH_STATUS", "record_sent"]

log = structlog.get_logger(__name__)

KEEPS_OUTREACH_STATUS = frozenset(
    {
        OutreachStatus.REPLIED,
        OutreachStatus.BOUNCED,
        OutreachStatus.UNSUBSCRIBED,
        OutreachStatus.DO_NOT_CONTACT,
    }
)
"""Outreach statuses a later send does not overwrite with ``contacted``."""


def record_sent(
    uow: UnitOfWork,
    send: MessageSend,
    *,
    sent_at: datetime,
    server_response: str | None,
    resolved_by: str | None,
) -> None:
    """Mark ``send`` (locked by the caller) sent, with its effects: the draft ``sent``, the
    contact ``contacted``, an activity entry, ``messages_sent``, ``message.sent`` and the
    follow-up the draft's agent asks for. ``resolved_by`` names the person who marked or
    confirmed it; None when the sender delivered it. Does not commit."""
    send.status = check_transition(SendStatus(send.status), SendStatus.SENT)
    send.sent_at = sent_at
    send.server_response = server_response
    send.resolved_by = resolved_by
    send.last_error = None
    send.version += 1
    session = uow.session
    draft = session.scalars(
        sa.select(Draft)
        .where(Draft.tenant_id == send.tenant_id, Draft.id == send.draft_id)
        .with_for_update()
    ).one()
    if draft.status != DraftStatus.SENT.value:
        draft.status = check_transition(DraftStatus(draft.status), DraftStatus.SENT)
    draft.sent_at = sent_at
    task = session.scalars(
        sa.select(Task).where(Task.tenant_id == send.tenant_id, Task.id == draft.task_id)
    ).one()
    _mark_contacted(uow, send, sent_at)
    mailbox = _mailbox_name(uow, send)
    log_send_activity(
        uow,
        send,
        EventType.MESSAGE_SENT,
        resolved_by=resolved_by,
        channel=send.channel,
        to_address=send.to_address,
    )
    bump_daily_metrics(
        uow,
        tenant_id=send.tenant_id,
        agent_id=draft.agent_id,
        agent_type=task.agent_type,
        day=sent_at.date(),
        messages_sent=1,
    )
    followup = schedule_followup_after_send(uow, draft, task, sent_at=sent_at)
    uow.record(
        send_event(
            send,
            EventType.MESSAGE_SENT,
            trace_id=task.trace_id,
            mailbox=mailbox,
            from_address=send.from_address,
            sent_at=sent_at.isoformat(),
            resolved_by=resolved_by,
            followup_task_id=str(followup.id) if followup else None,
        )
    )
    log.info(
        "send.sent",
        tenant_id=str(send.tenant_id),
        send_id=str(send.id),
        draft_id=str(send.draft_id),
        channel=send.channel,
        resolved_by=resolved_by,
    )


def _mark_contacted(uow: UnitOfWork, send: MessageSend, sent_at: datetime) -> None:
    if send.contact_id is None:
        return
    contact = uow.session.scalars(
        sa.select(Contact)
        .where(Contact.tenant_id == send.tenant_id, Contact.id == send.contact_id)
        .with_for_update()
    ).first()
    if contact is None:
        return
    if contact.outreach_status not in KEEPS_OUTREACH_STATUS:
        contact.outreach_status = OutreachStatus.CONTACTED.value
    if contact.last_contacted_at is None or contact.last_contacted_at < sent_at:
        contact.last_contacted_at = sent_at


def _mailbox_name(uow: UnitOfWork, send: MessageSend) -> str | None:
    """The name of the mailbox an email went out through; None for other channels."""
    if send.channel != Channel.EMAIL.value:
        return None
    if send.mailbox_id is None:
        return PLATFORM_MAILBOX
    name: str | None = uow.session.scalar(
        sa.select(Mailbox.name).where(
            Mailbox.tenant_id == send.tenant_id, Mailbox.id == send.mailbox_id
        )
    )
    return name
