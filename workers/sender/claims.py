"""Claiming a send for delivery, in one transaction committed before any SMTP traffic.

Under the delivery lock and a row lock on the send:

* ``sending`` left by a dead sender: phase ``transmitting`` means the server may have the
  message, so it becomes ``outcome_unknown`` and is never sent again automatically; phase
  ``connecting`` means nothing was handed over, so it is claimed again;
* ``queued``, or ``deferred`` and due: a suppressed recipient settles it as ``suppressed``, a
  mailbox with no slot left today defers it to the next UTC midnight, no usable mailbox fails
  it; otherwise it becomes ``sending`` (phase ``connecting``) with its mailbox fixed;
* anything else (sent, suppressed, failed, outcome unknown, ready, deferred and not due) is
  left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import structlog

from shared.db.database import Database
from shared.db.models import Contact, Draft, MessageSend, SendPhase
from shared.db.unit_of_work import UnitOfWork
from shared.errors import InvalidMessage, PermanentError
from shared.lifecycles import SendStatus
from shared.replies.sequence import answered_sequence
from shared.sending.caps import daily_cap_reached, next_utc_midnight
from shared.sending.mailboxes import SendingMailbox, resolve_mailbox
from shared.sending.message import build_message, wire_bytes
from shared.sending.queue import SendRequest, is_suppressed
from workers.sender.settlements import defer, fail, mark_outcome_unknown, move, suppress
from workers.sender.tools import SenderTools

__all__ = ["Claim", "claim_send", "lock_send"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Claim:
    """A send claimed for one SMTP conversation, with the bytes to deliver."""

    to_address: str
    mailbox: SendingMailbox
    message: bytes


def lock_send(uow: UnitOfWork, request: SendRequest) -> MessageSend:
    """The send named by ``request``, locked; an invalid message when there is no such send."""
    send = uow.session.scalars(
        sa.select(MessageSend)
        .where(MessageSend.tenant_id == request.tenant_id, MessageSend.id == request.send_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if send is None:
        raise InvalidMessage(f"send {request.send_id} of tenant {request.tenant_id} not found")
    if send.dedup_key != request.dedup_key:
        raise InvalidMessage(
            f"send {request.send_id} has key {send.dedup_key!r}, not {request.dedup_key!r}"
        )
    return send


def claim_send(db: Database, tools: SenderTools, request: SendRequest) -> Claim | None:
    """Claim the send for a conversation (committed), or settle or skip it and return None."""
    now = tools.clock()
    with db.unit_of_work(request.tenant_id) as uow:
        send = lock_send(uow, request)
        if not _ready_for_claim(uow, send, now):
            return None
        assert send.to_address is not None
        if is_suppressed(uow, send.tenant_id, send.to_address):
            suppress(uow, send)
            uow.commit()
            return None
        if answered_sequence(uow, _draft(uow, send)):
            suppress(uow, send, "the contact replied to this sequence; the follow-up is not sent")
            uow.commit()
            return None
        try:
            mailbox = resolve_mailbox(uow, tools.settings, tools.cipher, send)
        except PermanentError as exc:
            fail(uow, send, str(exc))
            uow.commit()
            return None
        if daily_cap_reached(uow, send, mailbox, now):
            reason = f"mailbox {mailbox.name!r} reached its daily cap of {mailbox.daily_cap}"
            defer(uow, send, until=next_utc_midnight(now), reason=reason)
            uow.commit()
            return None
        message = _message(uow, tools, send, mailbox, now)
        move(send, SendStatus.SENDING)
        send.phase = SendPhase.CONNECTING.value
        send.claimed_at = now
        send.attempts += 1
        send.mailbox_id = mailbox.mailbox_id
        send.from_address = mailbox.from_address
        send.not_before = None
        uow.commit()
        log.info(
            "send.claimed",
            tenant_id=str(send.tenant_id),
            send_id=str(send.id),
            draft_id=str(send.draft_id),
            mailbox=mailbox.name,
            attempts=send.attempts,
        )
        return Claim(to_address=send.to_address, mailbox=mailbox, message=message)


def _ready_for_claim(uow: UnitOfWork, send: MessageSend, now: datetime) -> bool:
    """Bring a claimable send to ``queued``; settle a dead sender's transmitting send."""
    status = SendStatus(send.status)
    if status is SendStatus.SENDING:
        if send.phase == SendPhase.TRANSMITTING.value:
            mark_outcome_unknown(
                uow,
                send,
                "the sender stopped after handing the message to the SMTP server and before "
                "its reply: check the mailbox for the Message-ID",
            )
            uow.commit()
            return False
        # The earlier attempt died before any message data went out: start again.
        move(send, SendStatus.QUEUED)
        send.phase = None
        return _has_recipient(uow, send)
    if status is SendStatus.DEFERRED and (send.not_before is None or send.not_before <= now):
        move(send, SendStatus.QUEUED)
        return _has_recipient(uow, send)
    if status is SendStatus.QUEUED:
        return _has_recipient(uow, send)
    log.info("send.skipped", send_id=str(send.id), status=send.status)
    return False


def _has_recipient(uow: UnitOfWork, send: MessageSend) -> bool:
    if send.to_address:
        return True
    fail(uow, send, "the send has no recipient address")
    uow.commit()
    return False


def _draft(uow: UnitOfWork, send: MessageSend) -> Draft:
    return uow.session.scalars(
        sa.select(Draft).where(Draft.tenant_id == send.tenant_id, Draft.id == send.draft_id)
    ).one()


def _message(
    uow: UnitOfWork,
    tools: SenderTools,
    send: MessageSend,
    mailbox: SendingMailbox,
    now: datetime,
) -> bytes:
    draft = _draft(uow, send)
    contact = (
        uow.session.scalars(
            sa.select(Contact).where(
                Contact.tenant_id == send.tenant_id, Contact.id == send.contact_id
            )
        ).first()
        if send.contact_id
        else None
    )
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p) if contact else None
    message = build_message(tools.settings, send, draft, mailbox, recipient_name=name, now=now)
    return wire_bytes(message)
