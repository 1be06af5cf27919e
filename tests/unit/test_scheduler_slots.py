"""Slot computation: the latest due slot only, never one before the agent existed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from workers.scheduler.slots import latest_slot, schedule_key, scheduled_task_id

pytestmark = pytest.mark.unit

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "now", "expected"),
    [
        ("*/5 * * * *", "2026-03-02T10:07:30", "2026-03-02T10:05:00"),
        ("*/5 * * * *", "2026-03-02T10:05:00", "2026-03-02T10:05:00"),
        ("*/5 * * * *", "2026-03-02T10:04:59.999", "2026-03-02T10:00:00"),
        ("0 9 * * *", "2026-03-02T08:59:00", "2026-03-01T09:00:00"),
        ("0 9 * * mon-fri", "2026-03-08T12:00:00", "2026-03-06T09:00:00"),
        ("30 6 * * 7", "2026-03-10T00:00:00", "2026-03-08T06:30:00"),
        ("0 0 1 * *", "2026-03-31T23:59:59", "2026-03-01T00:00:00"),
    ],
)
def test_latest_slot_is_the_last_one_at_or_before_now(
    expression: str, now: str, expected: str
) -> None:
    assert latest_slot(expression, at(now), not_before=CREATED) == at(expected)


def test_a_long_outage_yields_only_the_latest_slot() -> None:
    slot = latest_slot("* * * * *", at("2026-02-01T00:00:42"), not_before=CREATED)
    assert slot == at("2026-02-01T00:00:00")


def test_no_slot_before_the_agent_was_created() -> None:
    created = at("2026-03-02T10:06:00")
    assert latest_slot("*/5 * * * *", at("2026-03-02T10:09:00"), not_before=created) is None
    assert latest_slot("*/5 * * * *", at("2026-03-02T10:10:00"), not_before=created) == at(
        "2026-03-02T10:10:00"
    )


def test_a_slot_at_the_creation_instant_counts() -> None:
    created = at("2026-03-02T10:05:00")
    assert latest_slot("*/5 * * * *", created, not_before=created) == created


def test_other_timezones_are_read_as_the_same_instant_in_utc() -> None:
    now = datetime(2026, 3, 2, 12, 7, tzinfo=timezone(timedelta(hours=2)))
    assert latest_slot("*/5 * * * *", now, not_before=CREATED) == at("2026-03-02T10:05:00")


def test_an_unreadable_expression_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unreadable schedule"):
        latest_slot("61 * * * *", at("2026-03-02T10:00:00"), not_before=CREATED)


def test_keys_and_task_ids_are_stable_per_agent_and_slot() -> None:
    agent = uuid.UUID("00000000-0000-4000-8000-000000000001")
    slot = at("2026-03-02T10:05:00")
    assert schedule_key(agent, slot) == f"schedule:{agent}:2026-03-02T10:05:00+00:00"
    assert scheduled_task_id(agent, slot) == scheduled_task_id(agent, slot)
    assert scheduled_task_id(agent, slot) != scheduled_task_id(agent, slot + timedelta(minutes=5))
