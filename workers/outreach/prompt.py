"""The drafting prompt, the JSON schema its answer must follow, and the hash that pins it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.llm import ChatMessage

__all__ = [
    "DRAFT_SCHEMA",
    "OUTREACH_PROMPT",
    "PROMPT_VERSION",
    "RULES",
    "DraftPrompt",
    "build_messages",
    "input_hash",
    "outreach_instruction",
]

PROMPT_VERSION = "outreach-draft/2"

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

RULES = (
    "Use only facts from the context block: never invent facts, names, numbers or dates, and "
    "never leave placeholders such as [Name] or {{first_name}}. Match the requested channel "
    "(an email has a subject; a LinkedIn message has an empty subject) and tone, keep the body "
    "within max_words, and answer with JSON only: subject, body, reasoning (why this angle), "
    "key_points, and facts_used (every personalised fact in the message, each with the dotted "
    "context path it came from, e.g. contact.title, opportunity.title or "
    "account.intelligence.0.fact)."
)


@dataclass(frozen=True)
class DraftPrompt:
    """One kind of draft: its prompt version, schema name and system prompt."""

    version: str
    schema_name: str
    system: str


OUTREACH_PROMPT = DraftPrompt(
    version=PROMPT_VERSION,
    schema_name="outreach_draft",
    system=f"You are a sales development representative writing one outreach message. {RULES}",
)


def outreach_instruction(facts: dict[str, Any]) -> str:
    return f"Write a {facts['channel']} message in a {facts['tone']} tone to the contact below."


def build_messages(
    prompt: DraftPrompt,
    facts: dict[str, Any],
    instruction: str,
    problems: Sequence[str] = (),
) -> list[ChatMessage]:
    """System and user messages; ``problems`` of a rejected answer ask for a corrected one."""
    context = json.dumps(facts, sort_keys=True, ensure_ascii=False, indent=1)
    user = f"{instruction}\n<context>\n{context}\n</context>"
    if problems:
        listed = "\n".join(f"- {problem}" for problem in problems)
        user += (
            "\nYour previous answer was rejected because:\n"
            f"{listed}\nWrite the message again, fixing every problem and using only the "
            "context above."
        )
    return [
        ChatMessage(role="system", content=prompt.system),
        ChatMessage(role="user", content=user),
    ]


def input_hash(
    prompt: DraftPrompt, messages: list[ChatMessage], model: str, parameters: dict[str, Any]
) -> str:
    """Hash of everything the model saw, so a draft can be reproduced and compared."""
    material = json.dumps(
        {
            "prompt_version": prompt.version,
            "model": model,
            "parameters": parameters,
            "messages": [[m.role, m.content] for m in messages],
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()
