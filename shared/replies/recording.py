"""Recording an inbound reply: matched to its contact and send, once per Message-ID (or
content), in one transaction with everything a reply changes at once.

The contact is marked replied, their pending follow-ups are cancelled, and the reply's
classification task is queued; what the category means (suppression, response metrics,
resumed follow-ups) is applied when the classification comes back.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from shared.db.models import Contact, InboundReply, OutreachStatus
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from shared.errors import Conflict, PermanentError
from shared.events import Event, EventType
from shared.replies.followups import stop_pending_followups
from shared.replies.matching import ReplyMatch, match_reply, normalize_message_id
from shared.replies.tasks import queue_classification

__all__ = [
    "CONTACT_REPLIED",
    "IncomingReply",
    "RecordedReply",
    "UnmatchedReply",
    "record_reply",
    "reply_dedup_key",
]

CONTACT_REPLIED = "the contact replied"
# A contact in one of these states stays in it: a reply does not undo an opt-out.
_KEPT_STATUSES = frozenset(
    {OutreachStatus.UNSUBSCRIBED, OutreachStatus.BOUNCED, OutreachStatus.DO_NOT_CONTACT}
)


class UnmatchedReply(PermanentError):
    """Nothing in the reply names one of the tenant's sent messages or contacts."""


@dataclass(frozen=True)
class IncomingReply:
    body: str
    received_at: datetime
    contact_id: uuid.UUID | None = None
    from_address: str | None = None
    in_reply_to: str | None = None
    message_id: str | None = None
    subject: str | None = None
    source: str = "api"
    trace_id: str | None = None


@dataclass(frozen=True)
class RecordedReply:
    reply: InboundReply
    created: bool
    """False when the same reply was recorded before (then ``reply`` is the first one)."""

    @property
    def stopped_followups(self) -> list[uuid.UUID]:
        stopped = self.reply.classification.get("stopped_followups") or []
        return [uuid.UUID(item["task_id"]) for item in stopped]


def reply_dedup_key(incoming: IncomingReply, contact_id: uuid.UUID) -> str:
    """The reply's Message-ID, else a hash of contact, arrival time and body."""
    message_id = normalize_message_id(incoming.message_id)
    if message_id is not None:
        return f"message-id:{message_id}"
    received = incoming.received_at.astimezone(UTC).isoformat()
    digest = hashlib.sha256(f"{contact_id}\n{received}\n{incoming.body}".encode()).hexdigest()
    return f"sha256:{digest}"


def record_reply(uow: UnitOfWork, tenant_id: uuid.UUID, incoming: IncomingReply) -> RecordedReply:
    """Record ``incoming`` with its effects (``reply.received``, ``task.cancelled`` for each
    stopped follow-up, the queued classification); a repeat returns the first record.

    Raises :class:`UnmatchedReply` when neither its In-Reply-To, contact id nor sender address
    identifies a contact. Does not commit.
    """
    if incoming.received_at.tzinfo is None:
        incoming = replace(incoming, received_at=incoming.received_at.replace(tzinfo=UTC))
    match = match_reply(
        uow,
        tenant_id,
        received_at=incoming.received_at,
        in_reply_to=incoming.in_reply_to,
        contact_id=incoming.contact_id,
        from_address=incoming.from_address,
    )
    if match is None:
        raise UnmatchedReply(_unmatched_reason(incoming))
    key = reply_dedup_key(incoming, match.contact.id)
    existing = _by_dedup_key(uow, tenant_id, key)
    if existing is not None:
        return RecordedReply(existing, created=False)
    reply_id = uuid.uuid4()
    if not insert_if_absent(
        uow.session, InboundReply, _row(tenant_id, reply_id, key, incoming, match)
    ):
        # A concurrent post of the same reply committed first.
        first = _by_dedup_key(uow, tenant_id, key)
        if first is None:
            raise Conflict(f"reply {key} clashes with a reply that is not visible")
        return RecordedReply(first, created=False)
    previous_status = _mark_replied(uow, tenant_id, match.contact.id)
    stopped = stop_pending_followups(
        uow, tenant_id, match.contact.id, reason=CONTACT_REPLIED, reply_id=reply_id
    )
    task = queue_classification(uow, tenant_id, reply_id, trace_id=incoming.trace_id)
    reply = uow.session.get_one(InboundReply, reply_id)
    reply.task_id = task.id
    reply.classification = {
        "stopped_followups": [item.to_json() for item in stopped],
        "previous_outreach_status": previous_status,
    }
    uow.record(
        Event(
            event_type=EventType.REPLY_RECEIVED,
            tenant_id=tenant_id,
            aggregate_type="inbound_reply",
            aggregate_id=reply_id,
            trace_id=incoming.trace_id,
            payload=_received_payload(reply, [item.task_id for item in stopped]),
        )
    )
    return RecordedReply(reply, created=True)


def _unmatched_reason(incoming: IncomingReply) -> str:
    given = [
        f"{name} {value!r}"
        for name, value in (
            ("in_reply_to", incoming.in_reply_to),
            ("contact_id", str(incoming.contact_id) if incoming.contact_id else None),
            ("from_address", incoming.from_address),
        )
        if value
    ]
    if not given:
        return "the reply names no in_reply_to, contact_id or from_address to match it by"
    return f"no sent message or contact matches the reply ({', '.join(given)})"


def _by_dedup_key(uow: UnitOfWork, tenant_id: uuid.UUID, key: str) -> InboundReply | None:
    return uow.session.scalars(
        sa.select(InboundReply).where(
            InboundReply.tenant_id == tenant_id, InboundReply.dedup_key == key
        )
    ).first()


def _row(
    tenant_id: uuid.UUID,
    reply_id: uuid.UUID,
    key: str,
    incoming: IncomingReply,
    match: ReplyMatch,
) -> dict[str, Any]:
    send = match.send
    response_time_s = None
    if send is not None and send.sent_at is not None and send.sent_at <= incoming.received_at:
        response_time_s = int((incoming.received_at - send.sent_at).total_seconds())
    return {
        "id": reply_id,
        "tenant_id": tenant_id,
        "dedup_key": key,
        "contact_id": match.contact.id,
        "send_id": send.id if send else None,
        "draft_id": send.draft_id if send else None,
        "agent_id": send.agent_id if send else None,
        "source": incoming.source,
        "from_address": incoming.from_address,
        "subject": incoming.subject,
        "body": incoming.body,
        "message_id": normalize_message_id(incoming.message_id),
        "in_reply_to": normalize_message_id(incoming.in_reply_to),
        "received_at": incoming.received_at,
        "response_time_s": response_time_s,
        "classification": {},
    }


def _mark_replied(uow: UnitOfWork, tenant_id: uuid.UUID, contact_id: uuid.UUID) -> str:
    """Mark the contact replied (unless opted out or bounced); returns the status it had."""
    contact = uow.session.scalars(
        sa.select(Contact)
        .where(Contact.tenant_id == tenant_id, Contact.id == contact_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    previous = contact.outreach_status
    if previous not in _KEPT_STATUSES:
        contact.outreach_status = OutreachStatus.REPLIED.value
    return previous


def _received_payload(reply: InboundReply, stopped: list[uuid.UUID]) -> dict[str, Any]:
    def text(value: uuid.UUID | None) -> str | None:
        return str(value) if value else None

    return {
        "reply_id": str(reply.id),
        "contact_id": text(reply.contact_id),
        "send_id": text(reply.send_id),
        "draft_id": text(reply.draft_id),
        "agent_id": text(reply.agent_id),
        "source": reply.source,
        "received_at": reply.received_at.isoformat(),
        "response_time_s": reply.response_time_s,
        "stopped_followup_task_ids": [str(task_id) for task_id in stopped],
        "classification_task_id": text(reply.task_id),
    }
