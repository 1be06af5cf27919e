"""What a change of a send leaves behind: its event and, for settled sends, an activity entry."""

from __future__ import annotations

from typing import Any

from shared.db.models import ActivityLogEntry, ActorKind, MessageSend
from shared.db.unit_of_work import UnitOfWork
from shared.events import Event, EventType

__all__ = ["SENDER_ACTOR", "log_send_activity", "send_event"]

SENDER_ACTOR = "sender"


def send_event(
    send: MessageSend, event_type: EventType, *, trace_id: str | None = None, **details: Any
) -> Event:
    """A ``message.*`` event about ``send``, naming the draft, contact, channel and Message-ID."""
    return Event(
        event_type=event_type,
        tenant_id=send.tenant_id,
        aggregate_type="message_send",
        aggregate_id=send.id,
        trace_id=trace_id,
        payload={
            "draft_id": str(send.draft_id),
            "contact_id": str(send.contact_id) if send.contact_id else None,
            "channel": send.channel,
            "status": send.status,
            "message_id": send.message_id,
            "to_address": send.to_address,
            **details,
        },
    )


def log_send_activity(
    uow: UnitOfWork,
    send: MessageSend,
    event_type: EventType,
    *,
    resolved_by: str | None = None,
    **details: Any,
) -> None:
    """An activity entry for the send's agent: by the sender, or by the person who resolved it."""
    uow.session.add(
        ActivityLogEntry(
            tenant_id=send.tenant_id,
            agent_id=send.agent_id,
            actor_kind=ActorKind.USER if resolved_by else ActorKind.SYSTEM,
            actor_id=resolved_by or SENDER_ACTOR,
            action=event_type.value,
            entity_type="message_send",
            entity_id=send.id,
            details={"draft_id": str(send.draft_id), "message_id": send.message_id, **details},
        )
    )
