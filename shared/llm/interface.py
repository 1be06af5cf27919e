"""The one interface agents use to ask an LLM for JSON, whichever provider answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from shared.llm.messages import ChatMessage, LlmResult

__all__ = ["LlmClient"]


class LlmClient(Protocol):
    """A provider client that answers with a JSON object valid against a schema."""

    @property
    def provider(self) -> str:
        """``openai``, ``anthropic`` or ``gemini``."""

    @property
    def model(self) -> str:
        """The model requested."""

    def complete_json(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema_name: str,
        schema: dict[str, Any],
        temperature: float = 0.4,
        max_tokens: int = 800,
    ) -> LlmResult:
        """Ask for an answer that is a JSON object valid against ``schema``."""

    def close(self) -> None:
        """Close the connection pool."""
