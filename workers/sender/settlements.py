"""How a send that did not go out is settled, inside the caller's unit of work: suppressed,
deferred, failed, or outcome unknown. Each move is a checked transition with its event, an
activity entry for the ones a person may act on, and a log line with a stable name."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from shared.db.models import MessageSend
from shared.db.unit_of_work import UnitOfWork
from shared.events import EventType
from shared.lifecycles import SendStatus, check_transition
from shared.sending.records import log_send_activity, send_event
from shared.settings import Settings

__all__ = [
    "defer",
    "fail",
    "give_up_or_retry",
    "mark_outcome_unknown",
    "move",
    "retry_delay",
    "suppress",
]

log = structlog.get_logger(__name__)


def move(send: MessageSend, target: SendStatus) -> None:
    """Move ``send`` to ``target`` if its lifecycle allows it; every move bumps its version."""
    send.status = check_transition(SendStatus(send.status), target)
    send.version += 1


def _log(name: str, send: MessageSend, **details: object) -> None:
    log.info(
        name,
        tenant_id=str(send.tenant_id),
        send_id=str(send.id),
        draft_id=str(send.draft_id),
        attempts=send.attempts,
        **details,
    )


def suppress(
    uow: UnitOfWork, send: MessageSend, reason: str = "the address is on the suppression list"
) -> None:
    """The recipient must not get this message (suppressed, or answered its sequence): the
    send is settled and never made."""
    if send.status == SendStatus.SENDING.value:
        move(send, SendStatus.QUEUED)
    move(send, SendStatus.SUPPRESSED)
    send.phase = None
    send.last_error = reason
    uow.record(send_event(send, EventType.MESSAGE_SUPPRESSED, error=reason))
    log_send_activity(uow, send, EventType.MESSAGE_SUPPRESSED, reason=reason)
    _log("send.suppressed", send)


def defer(uow: UnitOfWork, send: MessageSend, *, until: datetime, reason: str) -> None:
    """Hold the send until ``until``; the scheduler queues it again then."""
    move(send, SendStatus.DEFERRED)
    send.phase = None
    send.not_before = until
    send.last_error = reason
    uow.record(
        send_event(send, EventType.MESSAGE_DEFERRED, not_before=until.isoformat(), reason=reason)
    )
    _log("send.deferred", send, not_before=until.isoformat(), reason=reason)


def fail(uow: UnitOfWork, send: MessageSend, reason: str) -> None:
    """The send cannot be made (refused for good, no mailbox, attempts spent)."""
    move(send, SendStatus.FAILED)
    send.phase = None
    send.last_error = reason
    uow.record(send_event(send, EventType.MESSAGE_FAILED, error=reason))
    log_send_activity(uow, send, EventType.MESSAGE_FAILED, reason=reason)
    _log("send.failed", send, reason=reason)


def mark_outcome_unknown(uow: UnitOfWork, send: MessageSend, reason: str) -> None:
    """The SMTP server may have accepted the message: never sent again automatically; a person
    looks the Message-ID up in the mailbox and confirms what happened."""
    move(send, SendStatus.OUTCOME_UNKNOWN)
    send.last_error = reason
    uow.record(
        send_event(
            send,
            EventType.MESSAGE_OUTCOME_UNKNOWN,
            reason=reason,
            from_address=send.from_address,
            attempts=send.attempts,
        )
    )
    log_send_activity(uow, send, EventType.MESSAGE_OUTCOME_UNKNOWN, reason=reason)
    _log("send.outcome_unknown", send, reason=reason)


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """Exponential backoff: ``sender_retry_base_s`` doubled for every attempt after the first."""
    return timedelta(seconds=settings.sender_retry_base_s * 2 ** max(attempts - 1, 0))


def give_up_or_retry(
    uow: UnitOfWork, send: MessageSend, settings: Settings, now: datetime, reason: str
) -> None:
    """A failure that may pass: deferred with backoff, or failed once the attempts are spent."""
    if send.attempts >= settings.sender_max_attempts:
        fail(uow, send, f"gave up after {send.attempts} attempts: {reason}")
        return
    defer(uow, send, until=now + retry_delay(settings, send.attempts), reason=reason)
