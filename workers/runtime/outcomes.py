"""How the message a worker thread just handled ended, for the metrics middleware.

Actors return nothing (a returned value makes Dramatiq warn that no results backend is set);
they note the outcome here instead, and :class:`~workers.runtime.metrics_middleware.PoolMetrics`
takes it once the message is done, on the same thread.
"""

from __future__ import annotations

import threading
from enum import StrEnum

__all__ = ["TaskOutcome", "note_outcome", "take_outcome"]


class TaskOutcome(StrEnum):
    """How one delivery of a task message ended (a retry shows as the exception raised)."""

    COMPLETED = "completed"
    FAILED = "failed"
    DEFERRED = "deferred"
    HELD = "held"
    DEAD_LETTERED = "dead_lettered"
    SKIPPED = "skipped"


_current = threading.local()


def note_outcome(outcome: TaskOutcome) -> None:
    _current.outcome = outcome


def take_outcome() -> TaskOutcome | None:
    outcome: TaskOutcome | None = getattr(_current, "outcome", None)
    _current.outcome = None
    return outcome
