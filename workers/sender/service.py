"""Delivering one send: lock, claim, converse with the SMTP server, record the outcome.

The order is what makes a send exactly-once. The claim (``sending``, phase ``connecting``) is
committed before connecting; phase ``transmitting`` is committed after RCPT TO and before DATA;
the outcome is committed after the server's reply. A sender that dies before ``transmitting``
left nothing with the server, so the message is sent again on redelivery; one that dies after
it may have delivered it, so the send becomes ``outcome_unknown`` and waits for a person.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
import structlog

from shared.db.database import Database
from shared.db.models import ApprovalItem, MessageSend, OutboxMessage, SendPhase
from shared.db.unit_of_work import UnitOfWork
from shared.lifecycles import SendStatus, TaskPriority
from shared.sending.delivered import record_sent
from shared.sending.queue import SendRequest, is_suppressed, send_outbox_values
from shared.sending.smtp import SmtpConversation, SmtpFailure, SmtpOutcomeUnknown
from workers.sender.claims import Claim, claim_send, lock_send
from workers.sender.locks import delivery_lock
from workers.sender.settlements import fail, give_up_or_retry, mark_outcome_unknown, suppress
from workers.sender.tools import SenderTools

__all__ = ["deliver_send"]

log = structlog.get_logger(__name__)


def deliver_send(db: Database, tools: SenderTools, request: SendRequest) -> None:
    """Deliver the send named by ``request`` at most once; a repeat delivery changes nothing."""
    with delivery_lock(db.engine, request.send_id) as held:
        if not held:
            _look_again_later(db, tools, request)
            return
        claim = claim_send(db, tools, request)
        if claim is not None:
            _converse(db, tools, request, claim)


def _converse(db: Database, tools: SenderTools, request: SendRequest, claim: Claim) -> None:
    mailbox = claim.mailbox
    try:
        with SmtpConversation(
            mailbox.server,
            timeout_s=tools.settings.smtp_timeout_s,
            tls_context=tools.tls_context,
            local_hostname=mailbox.from_address.rpartition("@")[2] or None,
        ) as smtp:
            smtp.open()
            smtp.address(mailbox.from_address, claim.to_address)
            if not _mark_transmitting(db, request):
                return
            response = smtp.transmit(claim.message)
            # Recorded before QUIT: a sender that dies saying goodbye has still sent it.
            _settle_sent(db, tools, request, response)
    except SmtpFailure as exc:
        _settle_failure(db, tools, request, exc)
    except SmtpOutcomeUnknown as exc:
        _settle_unknown(db, request, f"the connection failed before the server's reply: {exc}")


def _locked_sending(uow: UnitOfWork, request: SendRequest) -> MessageSend | None:
    """The send, locked, if it is still ``sending`` (the state this delivery left it in)."""
    send = lock_send(uow, request)
    if send.status != SendStatus.SENDING.value:
        log.warning("send.unexpected_status", send_id=str(send.id), status=send.status)
        return None
    return send


def _mark_transmitting(db: Database, request: SendRequest) -> bool:
    """Commit phase ``transmitting`` before DATA; an address suppressed since the claim stops
    the send here instead (False)."""
    with db.unit_of_work(request.tenant_id) as uow:
        send = _locked_sending(uow, request)
        if send is None:
            return False
        assert send.to_address is not None
        if is_suppressed(uow, send.tenant_id, send.to_address):
            suppress(uow, send)
            uow.commit()
            return False
        send.phase = SendPhase.TRANSMITTING.value
        send.version += 1
        uow.commit()
        return True


def _settle_sent(db: Database, tools: SenderTools, request: SendRequest, response: str) -> None:
    with db.unit_of_work(request.tenant_id) as uow:
        send = _locked_sending(uow, request)
        if send is None:
            return
        record_sent(uow, send, sent_at=tools.clock(), server_response=response, resolved_by=None)
        uow.commit()


def _settle_failure(
    db: Database, tools: SenderTools, request: SendRequest, failure: SmtpFailure
) -> None:
    """Nothing was delivered: failed for good on a permanent refusal, else retried later."""
    with db.unit_of_work(request.tenant_id) as uow:
        send = _locked_sending(uow, request)
        if send is None:
            return
        if failure.permanent:
            fail(uow, send, f"the SMTP server refused the message at {failure}")
        else:
            give_up_or_retry(uow, send, tools.settings, tools.clock(), str(failure))
        uow.commit()


def _settle_unknown(db: Database, request: SendRequest, reason: str) -> None:
    with db.unit_of_work(request.tenant_id) as uow:
        send = _locked_sending(uow, request)
        if send is None:
            return
        mark_outcome_unknown(uow, send, reason)
        uow.commit()


def _look_again_later(db: Database, tools: SenderTools, request: SendRequest) -> None:
    """Another delivery holds the send's lock and will settle it. Should its host have vanished
    without Postgres noticing yet, a check queued for later picks the send up again."""
    with db.unit_of_work(request.tenant_id) as uow:
        send = uow.session.scalars(
            sa.select(MessageSend).where(
                MessageSend.tenant_id == request.tenant_id, MessageSend.id == request.send_id
            )
        ).first()
        if send is None or send.status not in (SendStatus.QUEUED, SendStatus.SENDING):
            return
        check_at = tools.clock() + timedelta(seconds=tools.settings.sender_retry_base_s)
        values = send_outbox_values(
            request,
            priority=_priority(uow, send),
            dedup_key=f"{send.dedup_key}:recheck:{uuid.uuid4()}",
        )
        uow.session.execute(sa.insert(OutboxMessage).values(**values, available_at=check_at))
        uow.commit()
    log.info("send.busy", send_id=str(request.send_id), check_at=check_at.isoformat())


def _priority(uow: UnitOfWork, send: MessageSend) -> int:
    """The broker priority of the send's approval item (medium without one)."""
    priority = None
    if send.approval_item_id is not None:
        priority = uow.session.scalar(
            sa.select(ApprovalItem.priority).where(
                ApprovalItem.tenant_id == send.tenant_id, ApprovalItem.id == send.approval_item_id
            )
        )
    return TaskPriority(priority or TaskPriority.MEDIUM).broker_priority
