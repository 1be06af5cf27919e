"""Outbox rows for events and for task dispatches; the relay publishes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.db.models import OutboxKind
from shared.envelope import TaskEnvelope
from shared.events import Event
from shared.tracing import traceparent_for

__all__ = ["event_outbox_values", "queue_outbox_values", "task_outbox_values", "trace_headers"]


def event_outbox_values(event: Event) -> dict[str, Any]:
    """An event for the topic exchange; routing key = event type, deduplicated on event id."""
    return {
        "id": uuid.uuid4(),
        "tenant_id": event.tenant_id,
        "kind": OutboxKind.EVENT.value,
        "destination": event.event_type.value,
        "message_id": event.event_id,
        "payload": event.to_message(),
        "headers": trace_headers(event.trace_id),
        "priority": 0,
        "dedup_key": f"event:{event.event_id}",
    }


def task_outbox_values(
    envelope: TaskEnvelope,
    *,
    dedup_key: str | None = None,
    available_at: datetime | None = None,
) -> dict[str, Any]:
    """A task message for the agent's queue (queue name = canonical agent type).

    ``available_at`` defers it; otherwise the database clock stamps it.
    """
    values = queue_outbox_values(
        envelope.tenant_id,
        envelope.agent_type.value,
        envelope.to_json_dict(),
        priority=envelope.priority.broker_priority,
        dedup_key=dedup_key or f"task:{envelope.task_id}:dispatch",
        headers=trace_headers(envelope.trace_id),
    )
    if available_at is not None:
        values["available_at"] = available_at
    return values


def queue_outbox_values(
    tenant_id: uuid.UUID,
    queue: str,
    payload: dict[str, Any],
    *,
    priority: int,
    dedup_key: str,
    headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A message for the worker queue ``queue`` (a Dramatiq message whose actor is named after
    the queue, with ``payload`` as its one argument)."""
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "kind": OutboxKind.TASK.value,
        "destination": queue,
        "message_id": uuid.uuid4(),
        "payload": payload,
        "headers": headers or {},
        "priority": priority,
        "dedup_key": dedup_key,
    }


def trace_headers(trace_id: str | None) -> dict[str, Any]:
    """AMQP headers carrying the trace: the bare id and a W3C ``traceparent`` for this hop."""
    if not trace_id:
        return {}
    traceparent = traceparent_for(trace_id)
    return {"trace_id": trace_id} | ({"traceparent": traceparent} if traceparent else {})
