"""Per-mailbox daily send caps, counted per UTC day from the sends claimed that day.

A send counts against its mailbox's day once it is claimed (``sending``) and keeps counting when
it is ``sent`` or its outcome is unknown. The count is taken under a lock on the mailbox (its row,
or a transaction advisory lock for the platform mailbox, which has no row), so two senders never
both take the last slot.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from shared.db.locks import transaction_lock
from shared.db.models import Channel, Mailbox, MessageSend
from shared.db.unit_of_work import UnitOfWork
from shared.lifecycles import SendStatus
from shared.sending.mailboxes import SendingMailbox

__all__ = ["COUNTED_STATUSES", "daily_cap_reached", "next_utc_midnight", "sends_claimed_today"]

COUNTED_STATUSES = (SendStatus.SENDING, SendStatus.SENT, SendStatus.OUTCOME_UNKNOWN)


def _utc_midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(0), tzinfo=moment.tzinfo)


def next_utc_midnight(now: datetime) -> datetime:
    """When the next UTC day (and a fresh cap) starts; ``now`` is a UTC datetime."""
    return _utc_midnight(now) + timedelta(days=1)


def _platform_lock_key(tenant_id: uuid.UUID) -> int:
    digest = hashlib.blake2b(f"agentfleet.platform-mailbox:{tenant_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def _lock_mailbox(uow: UnitOfWork, tenant_id: uuid.UUID, mailbox: SendingMailbox) -> None:
    if mailbox.mailbox_id is None:
        transaction_lock(uow.session, _platform_lock_key(tenant_id))
        return
    uow.session.execute(
        sa.select(Mailbox.id)
        .where(Mailbox.tenant_id == tenant_id, Mailbox.id == mailbox.mailbox_id)
        .with_for_update()
    )


def sends_claimed_today(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    mailbox_id: uuid.UUID | None,
    now: datetime,
    *,
    excluding: uuid.UUID | None = None,
) -> int:
    """The tenant's email sends through the mailbox (None: the platform one) claimed since the
    start of ``now``'s UTC day."""
    query = sa.select(sa.func.count()).where(
        MessageSend.tenant_id == tenant_id,
        MessageSend.channel == Channel.EMAIL.value,
        MessageSend.claimed_at >= _utc_midnight(now),
        MessageSend.status.in_([status.value for status in COUNTED_STATUSES]),
        MessageSend.mailbox_id == mailbox_id
        if mailbox_id is not None
        else MessageSend.mailbox_id.is_(None),
    )
    if excluding is not None:
        query = query.where(MessageSend.id != excluding)
    return uow.session.scalar(query) or 0


def daily_cap_reached(
    uow: UnitOfWork, send: MessageSend, mailbox: SendingMailbox, now: datetime
) -> bool:
    """Whether ``mailbox`` has no slot left today for ``send``. Locks the mailbox until the
    transaction ends, so the caller claims the slot before anyone else counts."""
    _lock_mailbox(uow, send.tenant_id, mailbox)
    used = sends_claimed_today(uow, send.tenant_id, mailbox.mailbox_id, now, excluding=send.id)
    return used >= mailbox.daily_cap
