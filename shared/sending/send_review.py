"""The sends people work through: ``ready`` ones they send by hand and mark sent, and
``outcome_unknown`` or ``failed`` ones they confirm or put back in the sender's queue.

Every action locks the send row first, so concurrent clicks make one transition and the
others see the new status (an :class:`~shared.errors.IllegalTransition`, a 409 in the API).
The caller commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shared.db.base import utcnow
from shared.db.models import (
    ActivityLogEntry,
    ActorKind,
    ApprovalItem,
    Channel,
    Contact,
    Draft,
    MessageSend,
    OutboxMessage,
)
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from shared.domain.approvals import Reviewer
from shared.errors import Conflict, IllegalTransition, NotFound
from shared.events import EventType
from shared.lifecycles import SendStatus, TaskPriority, check_transition
from shared.sending.delivered import record_sent
from shared.sending.queue import SendRequest, is_suppressed, send_outbox_values
from shared.sending.records import send_event

__all__ = [
    "SendDetail",
    "confirm_outcome",
    "get_send",
    "list_sends",
    "mark_sent",
    "retry_send",
]


@dataclass(frozen=True)
class SendDetail:
    send: MessageSend
    draft: Draft


def list_sends(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    *,
    status: SendStatus | None = None,
    channel: Channel | None = None,
    contact_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[MessageSend], int]:
    """Sends newest first, optionally filtered, with the total before paging."""
    query = sa.select(MessageSend).where(MessageSend.tenant_id == tenant_id)
    if status is not None:
        query = query.where(MessageSend.status == status.value)
    if channel is not None:
        query = query.where(MessageSend.channel == channel.value)
    if contact_id is not None:
        query = query.where(MessageSend.contact_id == contact_id)
    total = uow.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    sends = uow.session.scalars(
        query.order_by(MessageSend.created_at.desc(), MessageSend.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(sends), total


def get_send(uow: UnitOfWork, tenant_id: uuid.UUID, send_id: uuid.UUID) -> SendDetail:
    """One send with the draft it delivers (NotFound for an unknown id or another tenant's)."""
    row = uow.session.execute(
        sa.select(MessageSend, Draft)
        .join(Draft, Draft.id == MessageSend.draft_id)
        .where(MessageSend.tenant_id == tenant_id, MessageSend.id == send_id)
    ).first()
    if row is None:
        raise NotFound(f"send {send_id} not found")
    return SendDetail(send=row[0], draft=row[1])


def mark_sent(
    uow: UnitOfWork, tenant_id: uuid.UUID, send_id: uuid.UUID, reviewer: Reviewer
) -> MessageSend:
    """A person sent a ``ready`` message by hand (LinkedIn, other channels): record it sent."""
    send = _locked_send(uow, tenant_id, send_id)
    _require(send, SendStatus.READY, SendStatus.SENT)
    record_sent(uow, send, sent_at=utcnow(), server_response=None, resolved_by=reviewer.actor_id)
    return send


def confirm_outcome(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    send_id: uuid.UUID,
    reviewer: Reviewer,
    *,
    delivered: bool,
    note: str | None = None,
) -> MessageSend:
    """Settle an ``outcome_unknown`` send after a person looked its Message-ID up: delivered
    records it sent; not delivered puts it back in the sender's queue."""
    send = _locked_send(uow, tenant_id, send_id)
    if not delivered:
        _require(send, SendStatus.OUTCOME_UNKNOWN, SendStatus.QUEUED)
        _log(uow, send, reviewer, "message.confirmed", delivered=False, note=note)
        _requeue(uow, send, reviewer)
        return send
    _require(send, SendStatus.OUTCOME_UNKNOWN, SendStatus.SENT)
    record_sent(
        uow,
        send,
        sent_at=send.claimed_at or utcnow(),
        server_response=send.server_response,
        resolved_by=reviewer.actor_id,
    )
    _log(uow, send, reviewer, "message.confirmed", delivered=True, note=note)
    return send


def retry_send(
    uow: UnitOfWork, tenant_id: uuid.UUID, send_id: uuid.UUID, reviewer: Reviewer
) -> MessageSend:
    """Put a ``failed`` send back in the sender's queue (e.g. once the contact has an address)."""
    send = _locked_send(uow, tenant_id, send_id)
    _require(send, SendStatus.FAILED, SendStatus.QUEUED)
    _log(uow, send, reviewer, "message.retried", last_error=send.last_error)
    _requeue(uow, send, reviewer)
    return send


def _locked_send(uow: UnitOfWork, tenant_id: uuid.UUID, send_id: uuid.UUID) -> MessageSend:
    send = uow.session.scalars(
        sa.select(MessageSend)
        .where(MessageSend.tenant_id == tenant_id, MessageSend.id == send_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if send is None:
        raise NotFound(f"send {send_id} not found")
    return send


def _require(send: MessageSend, expected: SendStatus, target: SendStatus) -> None:
    current = SendStatus(send.status)
    if current is not expected:
        raise IllegalTransition("MessageSend", current.value, target.value)
    check_transition(current, target)


def _requeue(uow: UnitOfWork, send: MessageSend, reviewer: Reviewer) -> None:
    """Back to ``queued`` with a fresh dispatch, unless the address was suppressed since."""
    if send.to_address is None and send.contact_id is not None:
        contact = uow.session.get(Contact, send.contact_id)
        send.to_address = (contact.email or "").strip().lower() or None if contact else None
    if send.to_address is None:
        raise Conflict("the send has no recipient address: give the contact an email first")
    send.status = SendStatus.QUEUED.value
    send.phase = None
    send.not_before = None
    send.version += 1
    resolved_by = reviewer.actor_id
    if is_suppressed(uow, send.tenant_id, send.to_address):
        send.status = check_transition(SendStatus.QUEUED, SendStatus.SUPPRESSED).value
        send.last_error = "the address is on the suppression list"
        uow.record(
            send_event(
                send, EventType.MESSAGE_SUPPRESSED, error=send.last_error, resolved_by=resolved_by
            )
        )
        return
    _dispatch(uow, send)
    uow.record(send_event(send, EventType.MESSAGE_QUEUED, resolved_by=resolved_by))


def _dispatch(uow: UnitOfWork, send: MessageSend) -> None:
    request = SendRequest(send.tenant_id, send.id, send.dedup_key)
    item_priority = (
        uow.session.scalar(
            sa.select(ApprovalItem.priority).where(ApprovalItem.id == send.approval_item_id)
        )
        if send.approval_item_id
        else None
    )
    priority = TaskPriority(item_priority or TaskPriority.MEDIUM).broker_priority
    key = f"{send.dedup_key}:requeue:{send.attempts}"
    values = send_outbox_values(request, priority=priority, dedup_key=key)
    if not insert_if_absent(uow.session, OutboxMessage, values):
        # Requeued twice without a delivery attempt in between (attempts did not move): the
        # version, bumped on every requeue, tells the dispatches apart.
        values = send_outbox_values(request, priority=priority, dedup_key=f"{key}.{send.version}")
        uow.session.execute(sa.insert(OutboxMessage).values(**values))


def _log(
    uow: UnitOfWork, send: MessageSend, reviewer: Reviewer, action: str, **details: Any
) -> None:
    """The person's decision, beside the effects the send's own records describe."""
    uow.session.add(
        ActivityLogEntry(
            tenant_id=send.tenant_id,
            agent_id=send.agent_id,
            actor_kind=ActorKind.USER,
            actor_id=reviewer.actor_id,
            action=action,
            entity_type="message_send",
            entity_id=send.id,
            details={
                "draft_id": str(send.draft_id),
                "message_id": send.message_id,
                **{k: v for k, v in details.items() if v is not None},
            },
        )
    )
