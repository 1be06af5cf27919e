"""Request and response bodies of ``/v1/replies``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.replies import RecordedReply

__all__ = ["CLOCK_SKEW", "ReplyIn", "ReplyOut"]

CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a ``received_at`` may lie (the sender's clock may run ahead)."""


class ReplyIn(BaseModel):
    """An inbound reply. It is matched by ``in_reply_to`` (the Message-ID we sent with), else
    ``contact_id``, else ``from_address``; ``message_id`` (the reply's own) makes a repeated
    post of it harmless, as does the same ``received_at`` and body for one contact."""

    model_config = ConfigDict(extra="forbid")

    contact_id: uuid.UUID | None = None
    from_address: str | None = Field(default=None, min_length=3, max_length=320)
    in_reply_to: str | None = Field(default=None, min_length=1, max_length=380)
    message_id: str | None = Field(default=None, min_length=1, max_length=380)
    subject: str | None = Field(default=None, max_length=1000)
    body: str = Field(min_length=1, max_length=100_000)
    received_at: datetime | None = Field(
        default=None, description="When the reply arrived (default: now); UTC if no offset."
    )

    @field_validator("received_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        if aware > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("received_at lies in the future")
        return aware


class ReplyOut(BaseModel):
    id: uuid.UUID
    contact_id: uuid.UUID | None
    send_id: uuid.UUID | None
    """The sent message the reply answers, when one matched."""
    draft_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    received_at: datetime
    response_time_s: int | None
    stopped_followup_task_ids: list[uuid.UUID]
    classification_task_id: uuid.UUID | None
    category: str | None
    """Set once the classification task has run."""
    created_at: datetime

    @classmethod
    def of(cls, recorded: RecordedReply) -> ReplyOut:
        reply = recorded.reply
        return cls(
            id=reply.id,
            contact_id=reply.contact_id,
            send_id=reply.send_id,
            draft_id=reply.draft_id,
            agent_id=reply.agent_id,
            received_at=reply.received_at,
            response_time_s=reply.response_time_s,
            stopped_followup_task_ids=recorded.stopped_followups,
            classification_task_id=reply.task_id,
            category=reply.category,
            created_at=reply.created_at,
        )
