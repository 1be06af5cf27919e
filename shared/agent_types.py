"""The six canonical agent types (contract), their aliases and their task types."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TASK_TYPES", "AgentType", "canonical_agent_type"]


class AgentType(StrEnum):
    """Canonical agent types; each is a queue name and a worker pool."""

    LEAD_SOURCE = "lead_source"
    ENRICHMENT = "enrichment"
    CONTACT_FINDER = "contact_finder"
    SCORING = "scoring"
    OUTREACH = "outreach"
    FOLLOWUP = "followup"


_ALIASES: dict[str, AgentType] = {
    "research": AgentType.ENRICHMENT,
    "planning": AgentType.SCORING,
    "email_drafter": AgentType.OUTREACH,
}

TASK_TYPES: dict[AgentType, frozenset[str]] = {
    AgentType.LEAD_SOURCE: frozenset({"source_leads"}),
    AgentType.ENRICHMENT: frozenset({"enrich_account"}),
    AgentType.CONTACT_FINDER: frozenset({"find_contacts"}),
    AgentType.SCORING: frozenset({"score_records"}),
    AgentType.OUTREACH: frozenset({"draft_outreach"}),
    AgentType.FOLLOWUP: frozenset({"draft_followup", "classify_reply"}),
}


def canonical_agent_type(name: str) -> AgentType:
    """Resolve a canonical name or an alias; raises ``ValueError`` for anything else."""
    try:
        return AgentType(name)
    except ValueError:
        if name in _ALIASES:
            return _ALIASES[name]
        known = ", ".join([*AgentType, *_ALIASES])
        raise ValueError(f"unknown agent type {name!r} (known: {known})") from None
