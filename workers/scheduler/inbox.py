"""The scheduler's inbox step: claim the tenant's mailboxes due for a poll, then read each
one's inbox for replies outside the claim's transaction.

The claim stamps ``polled_at`` and commits before any IMAP traffic, so two replicas never poll
one mailbox at once and a slow server holds no database lock. One mailbox that cannot be read
(or fails unexpectedly) does not stop the others.
"""

from __future__ import annotations

import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import InterfaceError, OperationalError

from shared.credentials import CredentialCipher, credential_cipher
from shared.db.database import Database
from shared.inbox import ImapOptions, poll_mailbox
from shared.settings import Settings
from workers.scheduler.claims import claim_due_mailboxes

__all__ = ["InboxOutcome", "InboxPolling", "build_inbox_polling", "poll_due_mailboxes"]

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class InboxPolling:
    """What polling inboxes needs besides the database."""

    cipher: CredentialCipher
    imap: ImapOptions
    interval: timedelta


@dataclass(frozen=True)
class InboxOutcome:
    polled: int = 0
    """Mailboxes claimed and read (or tried)."""
    replies: int = 0
    """Replies recorded (not counting re-reads of replies recorded before)."""
    failed: int = 0
    """Of those, the mailboxes that could not be read (``last_error`` in their poll state) or
    failed unexpectedly (logged)."""


def build_inbox_polling(settings: Settings) -> InboxPolling:
    """Certificates are verified against the system's trust store."""
    return InboxPolling(
        cipher=credential_cipher(settings),
        imap=ImapOptions(
            timeout_s=settings.imap_timeout_s, tls_context=ssl.create_default_context()
        ),
        interval=timedelta(seconds=settings.mailbox_poll_interval_s),
    )


def poll_due_mailboxes(
    db: Database, polling: InboxPolling, tenant_id: uuid.UUID, now: datetime, *, limit: int
) -> InboxOutcome:
    """Poll up to ``limit`` of the tenant's due mailboxes, up to ``limit`` messages each."""
    with db.unit_of_work(tenant_id) as uow:
        mailboxes = claim_due_mailboxes(uow.session, tenant_id, now, polling.interval, limit=limit)
        uow.commit()
    replies = failed = 0
    for mailbox in mailboxes:
        try:
            poll = poll_mailbox(db, polling.cipher, polling.imap, mailbox, now=now, limit=limit)
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            # One mailbox's bad data must not stop the others' replies.
            failed += 1
            logger.exception(
                "inbox.poll_crashed", tenant_id=str(tenant_id), mailbox_id=str(mailbox.id)
            )
            continue
        replies += poll.recorded
        failed += poll.error is not None
    return InboxOutcome(polled=len(mailboxes), replies=replies, failed=failed)
