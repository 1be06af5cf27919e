"""Which follow-up to write, if any: a plain decision from the agent's config and the attempt."""

from __future__ import annotations

from dataclasses import dataclass

from shared.agents.config import FollowupConfig, FollowupType
from shared.errors import PermanentError

__all__ = ["FollowupPlan", "choose_followup_type", "plan_followup"]

_ESCALATION: FollowupType = "escalation"


@dataclass(frozen=True)
class FollowupPlan:
    followup_type: FollowupType | None
    """None: write no draft this time."""
    reason: str | None
    """Why no draft is written."""
    schedule_next: bool


def choose_followup_type(config: FollowupConfig, attempt: int) -> FollowupType | None:
    """Escalation from ``escalationAfterAttempts`` on (if enabled); before that the other
    enabled types in their configured order, in turn; None if only escalation is enabled."""
    allowed = config.followup_types
    if attempt >= config.escalation_after_attempts and _ESCALATION in allowed:
        return _ESCALATION
    rotation = [kind for kind in allowed if kind != _ESCALATION]
    return rotation[(attempt - 1) % len(rotation)] if rotation else None


def plan_followup(
    config: FollowupConfig,
    attempt: int,
    requested: FollowupType | None,
    stop_reason: str | None,
) -> FollowupPlan:
    """The plan for follow-up number ``attempt``; a stop reason (the contact replied) ends the
    sequence. A requested type must be one the agent has enabled."""
    if stop_reason is not None:
        return FollowupPlan(None, stop_reason, schedule_next=False)
    if attempt > config.max_followups:
        reason = f"follow-up {attempt} is past maxFollowups ({config.max_followups})"
        return FollowupPlan(None, reason, schedule_next=False)
    if requested is not None and requested not in config.followup_types:
        enabled = ", ".join(config.followup_types)
        raise PermanentError(
            f"follow-up type {requested!r} is not enabled for this agent (followupTypes: {enabled})"
        )
    kind = requested or choose_followup_type(config, attempt)
    schedule_next = attempt < config.max_followups
    if kind is None:
        reason = f"no follow-up type is enabled for attempt {attempt}"
        return FollowupPlan(None, reason, schedule_next)
    return FollowupPlan(kind, None, schedule_next)
