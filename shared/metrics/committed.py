"""Metrics counted from the events of a committed transaction, so they match the database."""

from __future__ import annotations

from collections.abc import Iterable

from shared.events import Event, EventType
from shared.metrics.process import fleet_metrics

__all__ = ["count_committed_events"]

_SEND_OUTCOMES = {
    EventType.MESSAGE_SENT: "sent",
    EventType.MESSAGE_DEFERRED: "deferred",
    EventType.MESSAGE_SUPPRESSED: "suppressed",
    EventType.MESSAGE_FAILED: "failed",
    EventType.MESSAGE_OUTCOME_UNKNOWN: "outcome_unknown",
}
_DECISIONS = {
    EventType.APPROVAL_APPROVED: "approved",
    EventType.APPROVAL_EDITED: "edited",
    EventType.APPROVAL_REJECTED: "rejected",
    EventType.APPROVAL_EXPIRED: "expired",
}


def count_committed_events(events: Iterable[Event]) -> None:
    """Count queued tasks, sends by outcome and approval decisions (with their wait)."""
    metrics = None
    for event in events:
        send_outcome = _SEND_OUTCOMES.get(event.event_type)
        decision = _DECISIONS.get(event.event_type)
        queued = event.event_type is EventType.TASK_QUEUED
        if send_outcome is None and decision is None and not queued:
            continue
        metrics = metrics or fleet_metrics()
        if queued:
            payload = event.payload
            metrics.tasks_queued.labels(
                str(payload.get("agent_type")), str(payload.get("trigger") or "unknown")
            ).inc()
        if send_outcome is not None:
            metrics.sends.labels(send_outcome).inc()
        if decision is not None:
            metrics.approval_decisions.labels(decision).inc()
            pending_s = event.payload.get("pending_s")
            if isinstance(pending_s, int | float):
                metrics.approval_time_to_decision.labels(decision).observe(pending_s)
