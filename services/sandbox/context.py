"""The ``<context>`` block of a prompt, and forgiving typed reads of its values."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Fact", "PromptContext", "context_from_messages", "message_text"]

_DEFAULT_MAX_WORDS = {"email": 150, "linkedin": 60, "other": 100}


def context_from_messages(messages: Sequence[Any]) -> PromptContext:
    """The JSON object between ``<context>`` and ``</context>`` lines of the last user message."""
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return PromptContext(_context_block(message_text(message)))
    return PromptContext({})


def message_text(message: Mapping[str, Any]) -> str:
    """A message's text, whether its content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""


def _context_block(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    stripped = [line.strip() for line in lines]
    try:
        start = stripped.index("<context>")
        end = stripped.index("</context>", start + 1)
    except ValueError:
        return {}
    try:
        value = json.loads("\n".join(lines[start + 1 : end]))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Fact:
    """A context value the draft relies on, and where in the context it came from."""

    fact: str
    source: str


class PromptContext:
    """Typed, forgiving reads of the prompt's context object (every key is optional)."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw

    def text(self, path: str) -> str | None:
        """The scalar at a dotted path (``contact.title``, ``history.0.subject``) as text."""
        value: Any = self._raw
        for part in path.split("."):
            if isinstance(value, Mapping):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None
        return str(value).strip() or None

    def fact(self, path: str, label: str) -> tuple[str, Fact] | None:
        """The value at ``path`` with the fact that cites it, or None when it is absent."""
        value = self.text(path)
        return None if value is None else (value, Fact(f"{label}: {value}", path))

    def technologies(self) -> list[str]:
        account = self._raw.get("account")
        techs = account.get("technologies") if isinstance(account, Mapping) else None
        if not isinstance(techs, list):
            return []
        return [str(t).strip() for t in techs if isinstance(t, str | int) and str(t).strip()]

    def last_history_path(self) -> str | None:
        """The path of the latest earlier message's subject (by ``created_at``)."""
        history = self._raw.get("history")
        if not isinstance(history, list):
            return None
        dated = [
            (str(item.get("created_at") or ""), index)
            for index, item in enumerate(history)
            if isinstance(item, Mapping) and self.text(f"history.{index}.subject")
        ]
        return f"history.{max(dated)[1]}.subject" if dated else None

    def choice(self, key: str, allowed: Sequence[str]) -> str:
        value = self._raw.get(key)
        return value if isinstance(value, str) and value in allowed else allowed[0]

    def max_words(self, channel: str) -> int:
        value = self._raw.get("max_words")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        return _DEFAULT_MAX_WORDS[channel]
