"""Drafts spoiled on purpose, the way a careless model spoils them, for grounding tests.

Each spoiled draft is still valid JSON of the requested shape, so only a check of its content
against the prompt's context can tell it apart from a good one.
"""

from __future__ import annotations

from typing import Any

from services.sandbox.config import DraftFault
from services.sandbox.context import PromptContext

__all__ = ["INVENTED_FACT", "INVENTED_SENTENCE", "PLACEHOLDER", "spoil_draft"]

INVENTED_SENTENCE = (
    "Congratulations on the 38 million dollar contract with Vandermeer Shipping in March 2025."
)
INVENTED_FACT = {
    "fact": "Won a 38 million dollar contract with Vandermeer Shipping in March 2025",
    "source": "account.recent_contracts",
}
PLACEHOLDER = "[First Name]"
_FILLER = "Happy to share more detail on how this could work for your team in practice."
_OVERRUN_WORDS = 20


def spoil_draft(values: dict[str, Any], ctx: PromptContext, fault: DraftFault) -> dict[str, Any]:
    """``values`` (subject, body, reasoning, key_points, facts_used) spoiled by ``fault``."""
    spoiled = dict(values)
    head, _, rest = str(values.get("body", "")).partition("\n\n")
    if fault == "invented_fact":
        spoiled["body"] = "\n\n".join(p for p in (head, INVENTED_SENTENCE, rest) if p)
        spoiled["facts_used"] = [*values.get("facts_used", []), dict(INVENTED_FACT)]
        spoiled["key_points"] = [*values.get("key_points", []), "Congratulates them on the deal"]
    elif fault == "placeholder":
        greeting = head.split(" ", 1)[0].rstrip(",") or "Hello"
        spoiled["body"] = "\n\n".join(p for p in (f"{greeting} {PLACEHOLDER},", rest) if p)
    else:
        limit = ctx.max_words(ctx.choice("channel", ("email", "linkedin", "other")))
        body = str(values.get("body", ""))
        while len(body.split()) <= limit + _OVERRUN_WORDS:
            body = f"{body}\n\n{_FILLER}"
        spoiled["body"] = body
    return spoiled
