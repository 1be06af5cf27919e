"""Cron slots: which run of a schedule is due now, and the key that makes it fire once.

Schedules are evaluated in UTC. Only the latest slot at or before now is ever considered, so a
scheduler that was down for a day fires each agent once when it comes back, not once per
missed slot.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from croniter import croniter

__all__ = ["latest_slot", "schedule_key", "scheduled_task_id"]


def _floor_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def latest_slot(expression: str, now: datetime, *, not_before: datetime) -> datetime | None:
    """The most recent slot of ``expression`` at or before ``now``; None if before ``not_before``.

    ``not_before`` is when the agent was created: a slot that passed before the agent existed
    is not its to fire. Raises ``ValueError`` for an expression croniter cannot read.
    """
    # Slots fall on whole minutes, so "at or before now" is "strictly before the next minute".
    horizon = _floor_minute(now) + timedelta(minutes=1)
    try:
        slot = croniter(expression, horizon).get_prev(datetime)
    except ValueError as exc:
        raise ValueError(f"unreadable schedule {expression!r}: {exc}") from None
    slot = slot.astimezone(UTC)
    if slot < not_before.astimezone(UTC):
        return None
    return slot


def schedule_key(agent_id: uuid.UUID, slot: datetime) -> str:
    """The idempotency key of an agent's run for ``slot``: one task per agent and slot."""
    return f"schedule:{agent_id}:{slot.astimezone(UTC).isoformat()}"


def scheduled_task_id(agent_id: uuid.UUID, slot: datetime) -> uuid.UUID:
    """Every replica derives the same task id for a slot, so racing submissions agree."""
    return uuid.uuid5(agent_id, schedule_key(agent_id, slot))
