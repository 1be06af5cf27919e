"""The scheduler loop: for every tenant with due work, fire due cron slots, dispatch due held
tasks and due deferred sends, expire overdue approval items, and read mailbox inboxes that are
due for a poll.

Several replicas may run at once: cron runs are keyed per agent and slot (a second submission
finds the first), and held tasks, approval items and mailboxes are claimed with ``SKIP LOCKED``.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.unit_of_work import UnitOfWork
from shared.metrics import fleet_metrics
from workers.scheduler.claims import due_tenants
from workers.scheduler.held import dispatch_due_sends, dispatch_due_tasks, expire_approvals
from workers.scheduler.inbox import InboxOutcome, InboxPolling, poll_due_mailboxes
from workers.scheduler.schedules import run_due_schedules

__all__ = ["Scheduler", "SchedulerCycle"]

logger = structlog.get_logger(__name__)

_BACKOFF_BASE_S = 0.5
_BACKOFF_MAX_S = 30.0


class _Step(Protocol):
    def __call__(
        self, uow: UnitOfWork, tenant_id: uuid.UUID, now: datetime, *, limit: int
    ) -> int: ...


_METRIC_KINDS = {
    "fired": "cron",
    "dispatched": "held",
    "sends": "send",
    "expired": "expired",
    "replies": "inbox",
}


@dataclass(frozen=True)
class SchedulerCycle:
    tenants: int = 0
    fired: int = 0
    skipped: int = 0
    dispatched: int = 0
    expired: int = 0
    failed_tenants: int = 0
    sends: int = 0
    """Deferred sends queued again."""
    polled: int = 0
    """Mailbox inboxes read for replies."""
    replies: int = 0
    """Replies recorded from them."""


class Scheduler:
    """One replica's loop; ``clock`` is injectable so tests can pick the moment it runs at.
    Without ``inbox`` no mailbox is polled."""

    def __init__(
        self,
        db: Database,
        *,
        poll_interval_s: float,
        batch_size: int,
        clock: Callable[[], datetime] = utcnow,
        inbox: InboxPolling | None = None,
    ) -> None:
        self._db = db
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._clock = clock
        self._inbox = inbox
        self._log = logger.bind(scheduler_id=uuid.uuid4().hex[:8])
        self.last_cycle_at = time.monotonic()
        """When the loop last came round (``time.monotonic``), for the liveness probe."""

    def cycle(self) -> SchedulerCycle:
        """One pass over every tenant with due work."""
        now = self._clock()
        interval = self._inbox.interval if self._inbox else None
        with self._db.unit_of_work() as uow:
            tenant_ids = due_tenants(uow.session, now, mailbox_poll_interval=interval)
        totals = {
            "fired": 0,
            "skipped": 0,
            "dispatched": 0,
            "expired": 0,
            "sends": 0,
            "polled": 0,
            "replies": 0,
            "failed": 0,
        }
        for tenant_id in tenant_ids:
            try:
                counts = self._tenant_cycle(tenant_id, now)
            except (OperationalError, InterfaceError):
                raise
            except Exception:
                # One tenant's bad data must not stop the others' schedules.
                totals["failed"] += 1
                self._log.exception("scheduler.tenant_failed", tenant_id=str(tenant_id))
                continue
            for name, count in counts.items():
                totals[name] += count
        self._count(totals)
        result = SchedulerCycle(
            tenants=len(tenant_ids),
            fired=totals["fired"],
            skipped=totals["skipped"],
            dispatched=totals["dispatched"],
            expired=totals["expired"],
            failed_tenants=totals["failed"],
            sends=totals["sends"],
            polled=totals["polled"],
            replies=totals["replies"],
        )
        if (
            result.fired
            or result.skipped
            or result.dispatched
            or result.expired
            or result.sends
            or result.replies
        ):
            self._log.info(
                "scheduler.cycle",
                tenants=result.tenants,
                fired=result.fired,
                skipped=result.skipped,
                dispatched=result.dispatched,
                expired=result.expired,
                sends=result.sends,
                polled=result.polled,
                replies=result.replies,
            )
        return result

    @staticmethod
    def _count(totals: dict[str, int]) -> None:
        metrics = fleet_metrics().scheduler_dispatched
        for total, kind in _METRIC_KINDS.items():
            if totals[total]:
                metrics.labels(kind).inc(totals[total])

    def _tenant_cycle(self, tenant_id: uuid.UUID, now: datetime) -> dict[str, int]:
        outcome = run_due_schedules(self._db, tenant_id, now)
        dispatched = self._drain(dispatch_due_tasks, tenant_id, now)
        sends = self._drain(dispatch_due_sends, tenant_id, now)
        expired = self._drain(expire_approvals, tenant_id, now)
        inbox = self._poll_inboxes(tenant_id, now)
        if dispatched or sends or expired:
            self._log.info(
                "scheduler.tenant_settled",
                tenant_id=str(tenant_id),
                dispatched=dispatched,
                sends=sends,
                expired=expired,
            )
        return {
            "fired": outcome.fired,
            "skipped": outcome.skipped,
            "dispatched": dispatched,
            "sends": sends,
            "expired": expired,
            "polled": inbox.polled,
            "replies": inbox.replies,
        }

    def _poll_inboxes(self, tenant_id: uuid.UUID, now: datetime) -> InboxOutcome:
        if self._inbox is None:
            return InboxOutcome()
        return poll_due_mailboxes(self._db, self._inbox, tenant_id, now, limit=self._batch_size)

    def _drain(self, step: _Step, tenant_id: uuid.UUID, now: datetime) -> int:
        total = 0
        while True:
            with self._db.unit_of_work(tenant_id) as uow:
                count = step(uow, tenant_id, now, limit=self._batch_size)
            total += count
            if count < self._batch_size:
                return total

    def run(self, stop: threading.Event) -> None:
        """Schedule until ``stop`` is set, riding out database outages with backoff."""
        self._log.info("scheduler.started", poll_interval_s=self._poll_interval_s)
        failures = 0
        while not stop.is_set():
            self.last_cycle_at = time.monotonic()
            try:
                self.cycle()
            except SQLAlchemyError as exc:
                failures += 1
                delay_s = self._backoff(failures)
                self._log.warning("scheduler.db_error", error=str(exc), retry_in_s=delay_s)
                stop.wait(delay_s)
                continue
            except Exception:
                failures += 1
                delay_s = self._backoff(failures)
                self._log.exception("scheduler.unexpected_error", retry_in_s=delay_s)
                stop.wait(delay_s)
                continue
            failures = 0
            stop.wait(self._poll_interval_s)
        self._log.info("scheduler.stopped")

    def _backoff(self, attempt: int) -> float:
        delay = min(_BACKOFF_MAX_S, _BACKOFF_BASE_S * 2 ** min(attempt - 1, 30))
        return float(delay * random.uniform(0.5, 1.0))
