"""The reply-classification prompt and the JSON schema its answer must follow."""

from __future__ import annotations

import json
from typing import Any

from shared.db.models import Draft, InboundReply
from shared.lifecycles import ReplyCategory
from shared.llm import ChatMessage

__all__ = [
    "MAX_BODY_CHARS",
    "REPLY_PROMPT_VERSION",
    "REPLY_SCHEMA",
    "REPLY_SCHEMA_NAME",
    "build_reply_messages",
    "reply_facts",
]

REPLY_PROMPT_VERSION = "reply-classification/1"
REPLY_SCHEMA_NAME = "reply_classification"
MAX_BODY_CHARS = 8000
"""Longer bodies are cut: the first lines decide the category, quoted history follows."""

REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["category", "confidence", "out_of_office_until", "bounce_type", "summary"],
    "properties": {
        "category": {"type": "string", "enum": [category.value for category in ReplyCategory]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "out_of_office_until": {"type": ["string", "null"]},
        "bounce_type": {"type": ["string", "null"], "enum": ["hard", "soft", None]},
        "summary": {"type": "string"},
    },
}

_SYSTEM = (
    "You sort replies to a sales email. Read the reply in the context block and answer with "
    "JSON only. category is one of: interested (the contact wants to talk, meet or learn "
    "more), not_now (a person declining, postponing or saying it is not a priority, and any "
    "other reply written by a person), unsubscribe (asks to stop receiving messages or to be "
    "removed), out_of_office (an automatic absence notice), bounce (a mail server reporting "
    "that the message was not delivered). out_of_office_until is the date the contact is "
    "back, as YYYY-MM-DD, when an out-of-office notice states it (use reply.received_at to "
    "complete a date without a year), else null. bounce_type is hard for a permanent failure "
    "(5.x.x status, unknown address) or soft for a temporary one (4.x.x status, mailbox "
    "full), else null. confidence is between 0 and 1; summary is one short sentence."
)


def reply_facts(reply: InboundReply, original: Draft | None) -> dict[str, Any]:
    """What the model is shown: the reply, and the subject of the message it answers."""
    body = reply.body if len(reply.body) <= MAX_BODY_CHARS else reply.body[:MAX_BODY_CHARS]
    facts: dict[str, Any] = {
        "reply": {
            "from": reply.from_address,
            "subject": reply.subject,
            "body": body,
            "received_at": reply.received_at.isoformat(),
        }
    }
    if original is not None:
        facts["original"] = {"subject": original.subject, "channel": original.channel}
    return facts


def build_reply_messages(facts: dict[str, Any]) -> list[ChatMessage]:
    context = json.dumps(facts, sort_keys=True, ensure_ascii=False, indent=1)
    user = f"Classify this reply.\n<context>\n{context}\n</context>"
    return [ChatMessage(role="system", content=_SYSTEM), ChatMessage(role="user", content=user)]
