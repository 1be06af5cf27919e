"""Lifecycle tables: legal moves pass, everything else is an IllegalTransition."""

from __future__ import annotations

import pytest

from shared.errors import IllegalTransition
from shared.lifecycles import (
    TERMINAL_TASK_STATUSES,
    ApprovalStatus,
    DraftStatus,
    TaskPriority,
    TaskStatus,
    check_transition,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (TaskStatus.PENDING, TaskStatus.IN_PROGRESS),
        (TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED),
        (TaskStatus.IN_PROGRESS, TaskStatus.PENDING),
        (TaskStatus.IN_PROGRESS, TaskStatus.FAILED),
        (TaskStatus.PENDING, TaskStatus.CANCELLED),
        (ApprovalStatus.PENDING, ApprovalStatus.APPROVED),
        (ApprovalStatus.PENDING, ApprovalStatus.REJECTED),
        (DraftStatus.PENDING_APPROVAL, DraftStatus.APPROVED),
        (DraftStatus.APPROVED, DraftStatus.SENT),
    ],
)
def test_legal_moves(current: TaskStatus, target: TaskStatus) -> None:
    assert check_transition(current, target) is target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (TaskStatus.COMPLETED, TaskStatus.IN_PROGRESS),
        (TaskStatus.FAILED, TaskStatus.COMPLETED),
        (TaskStatus.PENDING, TaskStatus.COMPLETED),
        (ApprovalStatus.REJECTED, ApprovalStatus.APPROVED),
        (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED),
        (ApprovalStatus.EXPIRED, ApprovalStatus.APPROVED),
        (DraftStatus.SENT, DraftStatus.APPROVED),
    ],
)
def test_illegal_moves_name_both_states(current: TaskStatus, target: TaskStatus) -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition(current, target)
    assert current.value in str(caught.value)
    assert target.value in str(caught.value)


def test_terminal_task_states_and_priorities() -> None:
    assert {
        TaskStatus.COMPLETED,
        TaskStatus.FAILED,
        TaskStatus.CANCELLED,
    } == TERMINAL_TASK_STATUSES
    ranks = [p.broker_priority for p in TaskPriority]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == len(ranks)
