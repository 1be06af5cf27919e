"""Lifecycles of tasks, drafts, approval items and agents: one enum and one transition table each.

The database CHECK constraints are built from the same enums, so the code and the schema
cannot disagree about which states exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from shared.errors import IllegalTransition

__all__ = [
    "TERMINAL_TASK_STATUSES",
    "AgentStatus",
    "ApprovalStatus",
    "DraftStatus",
    "ReplyCategory",
    "SendStatus",
    "TaskPriority",
    "TaskStatus",
    "TaskTrigger",
    "check_replay",
    "check_transition",
]


class TaskStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TaskPriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def broker_priority(self) -> int:
        """RabbitMQ message priority (higher is served first)."""
        return _BROKER_PRIORITY[self]


_BROKER_PRIORITY = {
    TaskPriority.LOW: 1,
    TaskPriority.MEDIUM: 2,
    TaskPriority.HIGH: 3,
    TaskPriority.URGENT: 4,
}


class TaskTrigger(StrEnum):
    MANUAL = "manual"
    SCHEDULED = "scheduled"
    EVENT = "event"
    API = "api"


class DraftStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    SENT = "sent"
    REJECTED = "rejected"


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    EDITED = "edited"
    REJECTED = "rejected"
    EXPIRED = "expired"


class SendStatus(StrEnum):
    """One delivery of an approved draft (``send:{draft_id}``)."""

    QUEUED = "queued"
    """Waiting for the sender."""
    DEFERRED = "deferred"
    """Held until ``not_before`` (a mailbox's daily cap, or a transient SMTP failure)."""
    SENDING = "sending"
    """Claimed and committed before the SMTP conversation; ``phase`` says how far it got."""
    SENT = "sent"
    OUTCOME_UNKNOWN = "outcome_unknown"
    """The sender stopped after handing over the message: a person confirms what happened."""
    READY = "ready"
    """A channel without a sender (LinkedIn, other): waits for a person to mark it sent."""
    SUPPRESSED = "suppressed"
    """The recipient is on the suppression list; never sent."""
    FAILED = "failed"
    """Refused for good (no address, recipient rejected, attempts exhausted)."""


class ReplyCategory(StrEnum):
    INTERESTED = "interested"
    NOT_NOW = "not_now"
    UNSUBSCRIBE = "unsubscribe"
    OUT_OF_OFFICE = "out_of_office"
    BOUNCE = "bounce"


class AgentStatus(StrEnum):
    IDLE = "idle"
    ACTIVE = "active"
    WAITING_APPROVAL = "waiting_approval"
    PAUSED = "paused"
    ERROR = "error"


_TASK_MOVES: Mapping[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PENDING: frozenset(
        {TaskStatus.IN_PROGRESS, TaskStatus.CANCELLED, TaskStatus.FAILED}
    ),
    # Back to pending: held until a quota window with room opens.
    TaskStatus.IN_PROGRESS: frozenset(
        {TaskStatus.PENDING, TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED}
    ),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.FAILED: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
}

_DRAFT_MOVES: Mapping[DraftStatus, frozenset[DraftStatus]] = {
    DraftStatus.DRAFT: frozenset({DraftStatus.PENDING_APPROVAL, DraftStatus.APPROVED}),
    DraftStatus.PENDING_APPROVAL: frozenset({DraftStatus.APPROVED, DraftStatus.REJECTED}),
    DraftStatus.APPROVED: frozenset({DraftStatus.SENT}),
    DraftStatus.SENT: frozenset(),
    DraftStatus.REJECTED: frozenset(),
}

_APPROVAL_MOVES: Mapping[ApprovalStatus, frozenset[ApprovalStatus]] = {
    ApprovalStatus.PENDING: frozenset(
        {
            ApprovalStatus.APPROVED,
            ApprovalStatus.EDITED,
            ApprovalStatus.REJECTED,
            ApprovalStatus.EXPIRED,
        }
    ),
    ApprovalStatus.APPROVED: frozenset(),
    ApprovalStatus.EDITED: frozenset(),
    ApprovalStatus.REJECTED: frozenset(),
    ApprovalStatus.EXPIRED: frozenset(),
}

_SEND_MOVES: Mapping[SendStatus, frozenset[SendStatus]] = {
    SendStatus.QUEUED: frozenset(
        {SendStatus.SENDING, SendStatus.DEFERRED, SendStatus.SUPPRESSED, SendStatus.FAILED}
    ),
    SendStatus.DEFERRED: frozenset({SendStatus.QUEUED, SendStatus.SUPPRESSED}),
    # Back to queued: the conversation stopped before the message was handed over.
    SendStatus.SENDING: frozenset(
        {
            SendStatus.SENT,
            SendStatus.OUTCOME_UNKNOWN,
            SendStatus.QUEUED,
            SendStatus.DEFERRED,
            SendStatus.FAILED,
        }
    ),
    # Confirmed delivered, or confirmed lost and queued again.
    SendStatus.OUTCOME_UNKNOWN: frozenset({SendStatus.SENT, SendStatus.QUEUED}),
    SendStatus.READY: frozenset({SendStatus.SENT, SendStatus.SUPPRESSED}),
    SendStatus.FAILED: frozenset({SendStatus.QUEUED}),
    SendStatus.SENT: frozenset(),
    SendStatus.SUPPRESSED: frozenset(),
}

_AGENT_MOVES: Mapping[AgentStatus, frozenset[AgentStatus]] = {
    status: frozenset(set(AgentStatus) - {status}) for status in AgentStatus
}

_TABLES: Mapping[type[StrEnum], Mapping[object, frozenset[object]]] = {
    TaskStatus: _TASK_MOVES,  # type: ignore[dict-item]
    DraftStatus: _DRAFT_MOVES,  # type: ignore[dict-item]
    ApprovalStatus: _APPROVAL_MOVES,  # type: ignore[dict-item]
    SendStatus: _SEND_MOVES,  # type: ignore[dict-item]
    AgentStatus: _AGENT_MOVES,  # type: ignore[dict-item]
}

TERMINAL_TASK_STATUSES = frozenset(s for s, moves in _TASK_MOVES.items() if not moves)

# Outside the table on purpose: only replaying a dead-lettered message (shared.domain.task_replay)
# may take a failed task back to pending; check_transition never lets a task leave failed.
_TASK_REPLAY_MOVES: Mapping[TaskStatus, TaskStatus] = {TaskStatus.FAILED: TaskStatus.PENDING}

S = TypeVar("S", bound=StrEnum)


def check_transition(current: S, target: S) -> S:
    """Return ``target`` if the lifecycle allows ``current -> target``, else raise."""
    moves = _TABLES[type(current)]
    if target not in moves[current]:
        raise IllegalTransition(type(current).__name__, current.value, target.value)
    return target


def check_replay(current: TaskStatus) -> TaskStatus:
    """The status a task in ``current`` takes when its dead-lettered message is replayed
    (``failed`` → ``pending``), else raise :class:`IllegalTransition`."""
    target = _TASK_REPLAY_MOVES.get(current)
    if target is None:
        raise IllegalTransition(TaskStatus.__name__, current.value, TaskStatus.PENDING.value)
    return target
