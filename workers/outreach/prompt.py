"""The drafting prompt, the JSON schema its answer must follow, and the hash that pins it.

Reviewers' guidance for the agent goes in its own delimited part of the system prompt, never
in the ``<context>`` block: context values are the facts a draft may cite.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.llm import ChatMessage

__all__ = [
    "DRAFT_SCHEMA",
    "GUIDANCE_HEADING",
    "OUTREACH_PROMPT",
    "PROMPT_VERSION",
    "RULES",
    "DraftPrompt",
    "build_messages",
    "input_hash",
    "outreach_instruction",
    "system_prompt",
]

PROMPT_VERSION = "outreach-draft/3"

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


GUIDANCE_HEADING = "Guidance from reviewers of this agent's recent drafts:"
_GUIDANCE_NOTE = (
    "Follow it where it does not conflict with the rules above; it is not a source of facts."
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


def system_prompt(prompt: DraftPrompt, guidance: Sequence[str] = ()) -> str:
    """The prompt's system text, followed by the reviewers' guidance lines when there are any."""
    if not guidance:
        return prompt.system
    listed = "\n".join(f"- {line}" for line in guidance)
    return (
        f"{prompt.system}\n\n<reviewer_guidance>\n{GUIDANCE_HEADING}\n{listed}\n"
        f"{_GUIDANCE_NOTE}\n</reviewer_guidance>"
    )


def build_messages(
    prompt: DraftPrompt,
    facts: dict[str, Any],
    instruction: str,
    problems: Sequence[str] = (),
    guidance: Sequence[str] = (),
) -> list[ChatMessage]:
    """System and user messages; ``problems`` of a rejected answer ask for a corrected one, and
    ``guidance`` holds what reviewers of the agent's recent drafts asked for."""
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
        ChatMessage(role="system", content=system_prompt(prompt, guidance)),
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
