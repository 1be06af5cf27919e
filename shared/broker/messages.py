"""Task messages in Dramatiq's wire format, built from outbox rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

import dramatiq

__all__ = ["TaskRow", "dramatiq_message_for_task", "epoch_ms"]


class TaskRow(Protocol):
    """What a task message is built from: an ``OutboxMessage`` or a relay's claimed copy."""

    @property
    def destination(self) -> str: ...

    @property
    def message_id(self) -> uuid.UUID: ...

    @property
    def payload(self) -> dict[str, Any]: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def priority(self) -> int: ...


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch; a naive value (SQLite) is read as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def dramatiq_message_for_task(row: TaskRow) -> dramatiq.Message[Any]:
    """The Dramatiq message for a task row: actor and queue = agent type, one envelope argument.

    Every field comes from the row, so a republished row encodes to the same bytes.
    """
    return dramatiq.Message(
        queue_name=row.destination,
        actor_name=row.destination,
        args=(row.payload,),
        kwargs={},
        # Dramatiq's retries and delay queue re-enqueue with this, keeping the task's priority.
        options={"broker_priority": row.priority},
        message_id=str(row.message_id),
        message_timestamp=epoch_ms(row.created_at),
    )
