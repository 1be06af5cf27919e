"""The account-summary prompt and the JSON schema its answer must follow."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shared.llm import ChatMessage

__all__ = ["PROMPT_VERSION", "build_messages", "input_hash", "summary_schema"]

PROMPT_VERSION = "enrichment-summary/1"

_SYSTEM = (
    "You are a B2B sales researcher. Summarise the account below for a sales representative "
    "in two or three sentences, using only the facts in the context block; never invent "
    "numbers, names or events. Answer with JSON only: summary, and key_facts, each a short "
    "statement with source_field naming the one context fact it rests on."
)


def summary_schema(fact_names: list[str]) -> dict[str, Any]:
    """The answer's schema; ``source_field`` may only name one of ``fact_names``."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["summary", "key_facts"],
        "properties": {
            "summary": {"type": "string", "minLength": 1},
            "key_facts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["fact", "source_field"],
                    "properties": {
                        "fact": {"type": "string", "minLength": 1},
                        "source_field": {"type": "string", "enum": sorted(fact_names)},
                    },
                },
            },
        },
    }


def build_messages(facts: dict[str, dict[str, Any]]) -> list[ChatMessage]:
    context = json.dumps(
        {name: fact["value"] for name, fact in facts.items()},
        sort_keys=True,
        ensure_ascii=False,
        indent=1,
    )
    user = f"Summarise this account.\n<context>\n{context}\n</context>"
    return [ChatMessage(role="system", content=_SYSTEM), ChatMessage(role="user", content=user)]


def input_hash(messages: list[ChatMessage], model: str, parameters: dict[str, Any]) -> str:
    """Hash of everything the model saw, so a summary can be reproduced and compared."""
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
