"""The outreach prompt and the JSON schema its answer must follow."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shared.llm import ChatMessage

__all__ = ["DRAFT_SCHEMA", "PROMPT_VERSION", "build_messages", "input_hash"]

PROMPT_VERSION = "outreach-draft/1"

DRAFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["subject", "body", "reasoning", "key_points", "facts_used"],
    "properties": {
        "subject": {"type": "string"},
        "body": {"type": "string", "minLength": 1},
        "reasoning": {"type": "string"},
        "key_points": {"type": "array", "items": {"type": "string"}},
        "facts_used": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["fact", "source"],
                "properties": {"fact": {"type": "string"}, "source": {"type": "string"}},
            },
        },
    },
}

_SYSTEM = (
    "You are a sales development representative writing one outreach message. "
    "Use only facts from the context block; never invent facts, names or numbers and never "
    "leave placeholders such as [Name]. Match the requested channel and tone, stay within "
    "max_words, and answer with JSON only: subject (empty for LinkedIn), body, reasoning "
    "(why this angle), key_points, and facts_used (each fact with the dotted context path it "
    "came from, e.g. contact.title or opportunity.title)."
)


def build_messages(facts: dict[str, Any]) -> list[ChatMessage]:
    context = json.dumps(facts, sort_keys=True, ensure_ascii=False, indent=1)
    user = (
        f"Write a {facts['channel']} message in a {facts['tone']} tone to the contact below.\n"
        f"<context>\n{context}\n</context>"
    )
    return [ChatMessage(role="system", content=_SYSTEM), ChatMessage(role="user", content=user)]


def input_hash(messages: list[ChatMessage], model: str, parameters: dict[str, Any]) -> str:
    """Hash of everything the model saw, so a draft can be reproduced and compared."""
    material = json.dumps(
        {
            "prompt_version": PROMPT_VERSION,
            "model": model,
            "parameters": parameters,
            "messages": [[m.role, m.content] for m in messages],
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()
