"""The narrow way back from ``failed``, and which dead letters count as replayable."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.domain.task_replay import replay_dedup_key, replayable_envelope
from shared.errors import IllegalTransition, InvalidMessage
from shared.lifecycles import TaskStatus, check_replay, check_transition

pytestmark = pytest.mark.unit


def test_only_a_failed_task_goes_back_to_pending_and_only_through_a_replay() -> None:
    assert check_replay(TaskStatus.FAILED) is TaskStatus.PENDING
    with pytest.raises(IllegalTransition):
        check_transition(TaskStatus.FAILED, TaskStatus.PENDING)


@pytest.mark.parametrize(
    "status",
    [TaskStatus.PENDING, TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED, TaskStatus.CANCELLED],
)
def test_no_other_status_is_replayed(status: TaskStatus) -> None:
    with pytest.raises(IllegalTransition) as refused:
        check_replay(status)
    assert f"from {status.value!r} to 'pending'" in str(refused.value)


def _envelope(**changes: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "task_id": str(uuid.uuid4()),
        "tenant_id": str(uuid.uuid4()),
        "agent_type": "email_drafter",
        "task_type": "draft_outreach",
        "input": {"contact_id": str(uuid.uuid4()), "agent_id": str(uuid.uuid4())},
        **changes,
    }


def test_a_valid_envelope_of_the_queue_is_replayable() -> None:
    raw = _envelope()

    envelope = replayable_envelope("outreach", raw)

    assert str(envelope.task_id) == raw["task_id"]
    assert envelope.agent_type.value == "outreach"


@pytest.mark.parametrize(
    ("queue", "raw", "reason"),
    [
        ("outreach", "{not json", "envelope is not valid JSON"),
        ("outreach", _envelope(task_id="seven"), "envelope fails schema"),
        ("scoring", _envelope(), "agent type 'outreach' does not belong on queue 'scoring'"),
        ("outreach", _envelope(input={"channel": "email"}), "contact_id"),
    ],
)
def test_anything_a_worker_would_refuse_again_is_not(queue: str, raw: object, reason: str) -> None:
    with pytest.raises(InvalidMessage) as refused:
        replayable_envelope(queue, raw)
    assert reason in refused.value.reason


def test_every_replay_gets_a_dispatch_key_of_its_own() -> None:
    task_id = uuid.uuid4()

    first, second = replay_dedup_key(task_id), replay_dedup_key(task_id)

    assert first != second
    assert first.startswith(f"task:{task_id}:replay:")
