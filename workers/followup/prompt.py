"""The follow-up prompt: the outreach rules, plus what each follow-up type is for (reviewers'
guidance for the agent is added to it as to the outreach prompt)."""

from __future__ import annotations

from typing import Any

from workers.outreach.prompt import RULES, DraftPrompt

__all__ = ["FOLLOWUP_PROMPT", "FOLLOWUP_PROMPT_VERSION", "followup_instruction"]

FOLLOWUP_PROMPT_VERSION = "followup-draft/2"

_PURPOSES = {
    "reminder": "a short, polite reminder of the earlier message",
    "value_add": "one new, useful point for the contact, drawn from the context",
    "check_in": "a light check-in asking whether the topic is still relevant",
    "escalation": "a courteous ask whether someone else at the company owns this topic",
}

FOLLOWUP_PROMPT = DraftPrompt(
    version=FOLLOWUP_PROMPT_VERSION,
    schema_name="followup_draft",
    system=(
        "You are a sales development representative writing one follow-up to an earlier "
        "message that got no reply (followup.original in the context). Do not repeat the "
        f"earlier message. {RULES}"
    ),
)


def followup_instruction(facts: dict[str, Any]) -> str:
    followup = facts["followup"]
    kind = str(followup["type"])
    return (
        f"Write follow-up number {followup['attempt']} as a {facts['channel']} message in a "
        f"{facts['tone']} tone: {_PURPOSES.get(kind, kind)}."
    )
