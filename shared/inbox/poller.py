"""Reading a mailbox's inbox for replies: each new message is recorded as an inbound reply.

Every message is handled in a transaction of its own that also moves ``poll_state.last_uid``
past it, so a poller that dies re-reads at most the message it was on, and recording a reply
twice is harmless anyway (replies are deduplicated on their Message-ID). A message nothing
matches is skipped, not retried. A mailbox that cannot be read keeps its position and gets
``last_error``; the caller goes on with other mailboxes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
import structlog

from shared.credentials import CredentialCipher
from shared.db.database import Database
from shared.db.models import Mailbox
from shared.db.unit_of_work import UnitOfWork
from shared.errors import PermanentError
from shared.inbox.imap import IMPLICIT_TLS_PORT, ImapAccess, ImapFailure, ImapInbox, ImapOptions
from shared.inbox.message import incoming_reply
from shared.inbox.state import PollState
from shared.replies import UnmatchedReply, record_reply
from shared.sending.mailboxes import MailboxUnavailable, decrypt_mailbox_password

__all__ = ["DEFAULT_FOLDER", "MailboxPoll", "imap_access", "poll_mailbox"]

logger = structlog.get_logger(__name__)

DEFAULT_FOLDER = "INBOX"
_MAX_ERROR = 500


@dataclass(frozen=True)
class MailboxPoll:
    """What one poll of a mailbox did."""

    mailbox_id: uuid.UUID
    recorded: int = 0
    repeated: int = 0
    """Messages whose reply was recorded before (a re-read)."""
    unmatched: int = 0
    """Messages that answer nothing of ours, skipped."""
    error: str | None = None


def imap_access(cipher: CredentialCipher, mailbox: Mailbox) -> ImapAccess:
    """How to log in to the mailbox's inbox: its IMAP host and port (993 by default) with its
    SMTP login. Raises :class:`MailboxUnavailable` when something is missing."""
    if not mailbox.imap_host:
        raise MailboxUnavailable(f"mailbox {mailbox.name!r} has no IMAP host")
    password = decrypt_mailbox_password(cipher, mailbox)
    if not mailbox.smtp_username or password is None:
        raise MailboxUnavailable(f"mailbox {mailbox.name!r} has no login to read its inbox with")
    return ImapAccess(
        host=mailbox.imap_host,
        port=mailbox.imap_port or IMPLICIT_TLS_PORT,
        username=mailbox.smtp_username,
        password=password,
        folder=mailbox.imap_folder or DEFAULT_FOLDER,
    )


def poll_mailbox(
    db: Database,
    cipher: CredentialCipher,
    options: ImapOptions,
    mailbox: Mailbox,
    *,
    now: datetime,
    limit: int,
) -> MailboxPoll:
    """Record the replies among up to ``limit`` messages that arrived in ``mailbox``'s inbox
    since the last poll, oldest first; never raises for the mailbox's own failures."""
    log = logger.bind(tenant_id=str(mailbox.tenant_id), mailbox_id=str(mailbox.id))
    trace_id = uuid.uuid4().hex
    poll = MailboxPoll(mailbox.id)
    try:
        access = imap_access(cipher, mailbox)
    except PermanentError as exc:
        return _failed(db, mailbox, poll, now, str(exc))
    with ImapInbox(access, options) as inbox:
        try:
            validity = inbox.open()
            start = PollState.from_json(mailbox.poll_state).read_up_to(validity)
            for uid in inbox.uids_after(start)[:limit]:
                raw = inbox.fetch(uid)
                outcome = _take(db, mailbox, validity, uid, raw, now=now, trace_id=trace_id)
                if outcome == "unmatched":
                    log.info("inbox.reply_unmatched", uid=uid)
                poll = _counted(poll, outcome)
        except ImapFailure as exc:
            return _failed(db, mailbox, poll, now, str(exc))
    _save(
        db,
        mailbox,
        lambda state: PollState(validity, state.read_up_to(validity), now, last_error=None),
    )
    if poll.recorded or poll.repeated or poll.unmatched:
        log.info(
            "inbox.polled",
            recorded=poll.recorded,
            repeated=poll.repeated,
            unmatched=poll.unmatched,
            trace_id=trace_id,
        )
    return poll


def _take(
    db: Database,
    mailbox: Mailbox,
    validity: int,
    uid: int,
    raw: bytes | None,
    *,
    now: datetime,
    trace_id: str,
) -> str:
    """Record the message's reply and move past it in one transaction; says what happened."""
    with db.unit_of_work(mailbox.tenant_id) as uow:
        current = _lock_state(uow, mailbox)
        outcome = "gone"
        if raw is not None:
            incoming = replace(incoming_reply(raw, now=now), trace_id=trace_id)
            try:
                recorded = record_reply(uow, mailbox.tenant_id, incoming)
            except UnmatchedReply:
                outcome = "unmatched"
            else:
                outcome = "recorded" if recorded.created else "repeated"
        if current is not None:
            last_uid = max(current.read_up_to(validity), uid)
            _write_state(uow, mailbox, PollState(validity, last_uid, now, last_error=None))
        uow.commit()
    return outcome


def _counted(poll: MailboxPoll, outcome: str) -> MailboxPoll:
    if outcome == "recorded":
        return replace(poll, recorded=poll.recorded + 1)
    if outcome == "repeated":
        return replace(poll, repeated=poll.repeated + 1)
    if outcome == "unmatched":
        return replace(poll, unmatched=poll.unmatched + 1)
    return poll


def _failed(
    db: Database,
    mailbox: Mailbox,
    poll: MailboxPoll,
    now: datetime,
    error: str,
) -> MailboxPoll:
    error = error[:_MAX_ERROR]
    _save(db, mailbox, lambda state: replace(state, polled_at=now, last_error=error))
    logger.warning(
        "inbox.poll_failed",
        tenant_id=str(mailbox.tenant_id),
        mailbox_id=str(mailbox.id),
        error=error,
        recorded=poll.recorded,
    )
    return replace(poll, error=error)


def _save(db: Database, mailbox: Mailbox, change: Callable[[PollState], PollState]) -> None:
    """Apply ``change`` to the stored state under the row's lock (a poll that overlaps this
    one may have moved it)."""
    with db.unit_of_work(mailbox.tenant_id) as uow:
        current = _lock_state(uow, mailbox)
        if current is None:
            return
        _write_state(uow, mailbox, change(current))
        uow.commit()


def _lock_state(uow: UnitOfWork, mailbox: Mailbox) -> PollState | None:
    """The mailbox's stored state, its row locked; None when the mailbox was deleted."""
    stored = uow.session.execute(
        sa.select(Mailbox.poll_state)
        .where(Mailbox.tenant_id == mailbox.tenant_id, Mailbox.id == mailbox.id)
        .with_for_update()
    ).scalar_one_or_none()
    return None if stored is None else PollState.from_json(stored)


def _write_state(uow: UnitOfWork, mailbox: Mailbox, state: PollState) -> None:
    uow.session.execute(
        sa.update(Mailbox)
        .where(Mailbox.tenant_id == mailbox.tenant_id, Mailbox.id == mailbox.id)
        # Reading the inbox is not a change to the mailbox's settings.
        .values(poll_state=state.to_json(), updated_at=Mailbox.updated_at)
        .execution_options(synchronize_session=False)
    )
