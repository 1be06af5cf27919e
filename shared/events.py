"""Domain events (contract): their types and the message published on ``agentfleet.events``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = ["EVENT_SCHEMA_VERSION", "Event", "EventType"]

EVENT_SCHEMA_VERSION = 1


class EventType(StrEnum):
    TASK_QUEUED = "task.queued"
    TASK_STARTED = "task.started"
    TASK_COMPLETED = "task.completed"
    TASK_FAILED = "task.failed"
    TASK_CANCELLED = "task.cancelled"
    TASK_DEFERRED = "task.deferred"
    DRAFT_CREATED = "draft.created"
    APPROVAL_CREATED = "approval.created"
    APPROVAL_APPROVED = "approval.approved"
    APPROVAL_EDITED = "approval.edited"
    APPROVAL_REJECTED = "approval.rejected"
    APPROVAL_EXPIRED = "approval.expired"
    APPROVAL_REFRESHED = "approval.refreshed"
    MESSAGE_QUEUED = "message.queued"
    MESSAGE_SENT = "message.sent"
    MESSAGE_DEFERRED = "message.deferred"
    MESSAGE_SUPPRESSED = "message.suppressed"
    MESSAGE_FAILED = "message.failed"
    MESSAGE_OUTCOME_UNKNOWN = "message.outcome_unknown"
    REPLY_RECEIVED = "reply.received"
    REPLY_CLASSIFIED = "reply.classified"
    CONTACT_SUPPRESSED = "contact.suppressed"
    AGENT_GUIDANCE_UPDATED = "agent.guidance_updated"
    FOLLOWUP_SCHEDULED = "followup.scheduled"
    AGENT_UPDATED = "agent.updated"
    USAGE_BUDGET_EXCEEDED = "usage.budget_exceeded"


@dataclass(frozen=True)
class Event:
    """A state change, recorded in the unit of work and written to the outbox with it."""

    event_type: EventType
    tenant_id: uuid.UUID
    aggregate_type: str
    aggregate_id: uuid.UUID
    payload: dict[str, Any] = field(default_factory=dict)
    trace_id: str | None = None
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_message(self) -> dict[str, Any]:
        """The JSON body published to the events exchange."""
        return {
            "schema_version": EVENT_SCHEMA_VERSION,
            "event_id": str(self.event_id),
            "event_type": self.event_type.value,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "tenant_id": str(self.tenant_id),
            "aggregate_type": self.aggregate_type,
            "aggregate_id": str(self.aggregate_id),
            "trace_id": self.trace_id,
            "payload": self.payload,
        }
