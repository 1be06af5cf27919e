"""Queueing the send of an approved draft, in the transaction that approved it.

An email gets a ``message_sends`` row and an outbox row for the sender's queue, both keyed
``send:{draft_id}``, so however often a draft is approved it goes out at most once. Other
channels have no sender: their send waits as ``ready`` for a person to mark it sent. An
address on the suppression list is settled at once as ``suppressed``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shared.db.models import (
    ApprovalItem,
    Channel,
    Contact,
    Draft,
    Mailbox,
    MessageSend,
    OutboxMessage,
    SuppressedAddress,
)
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from shared.events import EventType
from shared.lifecycles import SendStatus, TaskPriority
from shared.outbox import queue_outbox_values
from shared.sending.records import send_event

__all__ = [
    "SENDER_QUEUE",
    "SEND_MESSAGE_VERSION",
    "SendRequest",
    "is_suppressed",
    "message_id_for",
    "queue_send",
    "send_dedup_key",
    "send_outbox_values",
]

SENDER_QUEUE = "sender"
SEND_MESSAGE_VERSION = 1
_FALLBACK_DOMAIN = "agentfleet.invalid"


@dataclass(frozen=True)
class SendRequest:
    """What the sender's queue carries: which send to deliver."""

    tenant_id: uuid.UUID
    send_id: uuid.UUID
    dedup_key: str

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SEND_MESSAGE_VERSION,
            "tenant_id": str(self.tenant_id),
            "send_id": str(self.send_id),
            "dedup_key": self.dedup_key,
        }


def send_dedup_key(draft_id: uuid.UUID) -> str:
    return f"send:{draft_id}"


def message_id_for(draft_id: uuid.UUID, from_address: str | None) -> str:
    """The RFC 5322 Message-ID a draft is sent with: the same on every attempt, so a person can
    look the message up in the mailbox when the outcome of a send is unknown."""
    domain = from_address.rpartition("@")[2] if from_address and "@" in from_address else ""
    return f"<{draft_id}.send@{domain or _FALLBACK_DOMAIN}>"


def is_suppressed(uow: UnitOfWork, tenant_id: uuid.UUID, address: str) -> bool:
    return (
        uow.session.scalar(
            sa.select(sa.literal(True)).where(
                SuppressedAddress.tenant_id == tenant_id,
                sa.func.lower(SuppressedAddress.email) == address.lower(),
            )
        )
        is not None
    )


def send_outbox_values(
    request: SendRequest, *, priority: int, dedup_key: str | None = None
) -> dict[str, Any]:
    """An outbox row for the sender's queue. ``dedup_key`` names a later dispatch of the same
    send (after a deferral); the first one is keyed on the send itself."""
    return queue_outbox_values(
        request.tenant_id,
        SENDER_QUEUE,
        request.to_json_dict(),
        priority=priority,
        dedup_key=dedup_key or request.dedup_key,
    )


def _default_mailbox(uow: UnitOfWork, tenant_id: uuid.UUID) -> Mailbox | None:
    return uow.session.scalars(
        sa.select(Mailbox)
        .where(Mailbox.tenant_id == tenant_id, Mailbox.is_active.is_(True))
        .order_by(Mailbox.is_default.desc(), Mailbox.created_at, Mailbox.id)
        .limit(1)
    ).first()


def queue_send(
    uow: UnitOfWork,
    draft: Draft,
    item: ApprovalItem | None,
    *,
    platform_from: str | None,
    trace_id: str | None = None,
) -> MessageSend:
    """The draft's send, created with its dispatch unless it exists already (then returned as
    it is). ``platform_from`` is the platform mailbox's address, used when the tenant has no
    mailbox of its own."""
    key = send_dedup_key(draft.id)
    contact = uow.session.get(Contact, draft.contact_id) if draft.contact_id else None
    channel = Channel(draft.channel)
    mailbox = _default_mailbox(uow, draft.tenant_id) if channel is Channel.EMAIL else None
    from_address = mailbox.from_address if mailbox else platform_from
    to_address = (contact.email or "").strip().lower() or None if contact else None
    status, error = _initial_status(uow, draft.tenant_id, channel, to_address)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "tenant_id": draft.tenant_id,
        "dedup_key": key,
        "draft_id": draft.id,
        "approval_item_id": item.id if item else None,
        "agent_id": draft.agent_id,
        "contact_id": draft.contact_id,
        "mailbox_id": mailbox.id if mailbox else None,
        "channel": channel.value,
        "to_address": to_address,
        "from_address": from_address if channel is Channel.EMAIL else None,
        "message_id": message_id_for(draft.id, from_address),
        "status": status.value,
        "last_error": error,
    }
    inserted = insert_if_absent(uow.session, MessageSend, values)
    send = uow.session.scalars(sa.select(MessageSend).where(MessageSend.dedup_key == key)).one()
    if not inserted:
        return send
    if status is SendStatus.QUEUED:
        request = SendRequest(draft.tenant_id, send.id, key)
        priority = TaskPriority(item.priority if item else TaskPriority.MEDIUM).broker_priority
        uow.session.execute(
            sa.insert(OutboxMessage).values(**send_outbox_values(request, priority=priority))
        )
    event_type = {
        SendStatus.QUEUED: EventType.MESSAGE_QUEUED,
        SendStatus.READY: EventType.MESSAGE_QUEUED,
        SendStatus.SUPPRESSED: EventType.MESSAGE_SUPPRESSED,
        SendStatus.FAILED: EventType.MESSAGE_FAILED,
    }[status]
    uow.record(send_event(send, event_type, trace_id=trace_id, error=error))
    return send


def _initial_status(
    uow: UnitOfWork, tenant_id: uuid.UUID, channel: Channel, to_address: str | None
) -> tuple[SendStatus, str | None]:
    # Checked for every channel: an unsubscribed person is not to be reached by hand either.
    if to_address is not None and is_suppressed(uow, tenant_id, to_address):
        return SendStatus.SUPPRESSED, "the address is on the suppression list"
    if channel is not Channel.EMAIL:
        return SendStatus.READY, None
    if to_address is None:
        return SendStatus.FAILED, "the contact has no email address"
    return SendStatus.QUEUED, None
