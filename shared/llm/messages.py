"""What goes into a chat completion and what comes out of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ChatMessage", "LlmResult"]


@dataclass(frozen=True)
class ChatMessage:
    """One turn of the conversation; ``role`` is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


@dataclass(frozen=True)
class LlmResult:
    """A schema-valid JSON answer with the usage and timing of the call that produced it."""

    data: dict[str, Any]
    model: str
    tokens_in: int
    tokens_out: int
    latency_ms: int
    request_id: str | None
