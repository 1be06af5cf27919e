"""The outbox relay loop: claim rows, publish them outside any transaction, mark them sent.

Delivery is at-least-once: a row is marked published only after the broker confirmed it, so a
crash between the two republishes it once its lease expires. Concurrent relays never publish
the same row at the same time: claims skip locked rows and respect unexpired leases.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import SQLAlchemyError

from shared.db.database import Database
from shared.metrics import fleet_metrics
from workers.relay.claims import ClaimedRow, claim_batch, mark_published, release
from workers.relay.publishers import Publisher, PublishOutcome, describe_error
from workers.relay.wakeup import Wakeup

__all__ = ["CycleResult", "Relay"]

logger = structlog.get_logger(__name__)

_BACKOFF_BASE_S = 0.5
# Longest uninterrupted wait, so a stop request is honoured promptly.
_STOP_CHECK_S = 0.5


@dataclass(frozen=True)
class CycleResult:
    claimed: int = 0
    published: int = 0
    failed: int = 0


class Relay:
    """Moves outbox rows to the broker; one instance per thread, many processes may run."""

    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        wakeup: Wakeup,
        *,
        batch_size: int,
        lease_s: float,
        poll_interval_s: float,
        backoff_max_s: float,
    ) -> None:
        self._db = db
        self._publisher = publisher
        self._wakeup = wakeup
        self._batch_size = batch_size
        self._lease_s = lease_s
        self._poll_interval_s = poll_interval_s
        self._backoff_max_s = backoff_max_s
        # Tells apart the relays of one deployment in the logs.
        self._log = logger.bind(relay_id=uuid.uuid4().hex[:8])
        self.last_cycle_at = time.monotonic()
        """When the loop last came round (``time.monotonic``), for the liveness probe."""

    def run_once(self) -> int:
        """Claim, publish and settle one batch; returns how many rows were published."""
        return self.cycle().published

    def cycle(self) -> CycleResult:
        """Like :meth:`run_once`, with the claimed and failed counts too."""
        with self._db.unit_of_work() as uow:
            rows = claim_batch(uow.session, limit=self._batch_size, lease_s=self._lease_s)
            uow.commit()
        if not rows:
            return CycleResult()
        started = time.monotonic()
        outcome = self._publish(rows)
        elapsed_s = time.monotonic() - started
        token = rows[0].claim_token
        confirmed = set(outcome.published)
        published = [row.id for row in rows if row.id in confirmed]
        failed = {row.id: row for row in rows if row.id not in confirmed}
        with self._db.unit_of_work() as uow:
            marked = mark_published(uow.session, published, token)
            for (error, delay_s), ids in self._failure_groups(failed, outcome).items():
                release(uow.session, ids, token, error, delay_s)
            uow.commit()
        self._log_cycle(rows, outcome, published, failed, marked, elapsed_s)
        self._count(rows, confirmed, len(failed))
        return CycleResult(claimed=len(rows), published=len(published), failed=len(failed))

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set, riding out broker and database outages."""
        self._log.info("relay.started", batch_size=self._batch_size)
        failures = 0
        while not stop.is_set():
            self.last_cycle_at = time.monotonic()
            try:
                result = self.cycle()
                if result.failed and not result.published:
                    failures += 1
                    stop.wait(self._jittered_backoff(failures))
                    continue
                failures = 0
                if not result.claimed:
                    self._idle(stop)
            except SQLAlchemyError as exc:
                failures += 1
                delay_s = self._jittered_backoff(failures)
                self._log.warning("relay.db_error", error=describe_error(exc), retry_in_s=delay_s)
                stop.wait(delay_s)
            except Exception:
                # A daemon that dies quietly is worse than one that logs and retries.
                failures += 1
                delay_s = self._jittered_backoff(failures)
                self._log.exception("relay.unexpected_error", retry_in_s=delay_s)
                stop.wait(delay_s)
        self._log.info("relay.stopped")

    @staticmethod
    def _count(rows: Sequence[ClaimedRow], confirmed: set[uuid.UUID], failed: int) -> None:
        metrics = fleet_metrics()
        kinds = Counter(row.kind for row in rows if row.id in confirmed)
        for kind, count in kinds.items():
            metrics.relay_published.labels(kind).inc(count)
        if failed:
            metrics.relay_failures.inc(failed)

    def _publish(self, rows: Sequence[ClaimedRow]) -> PublishOutcome:
        try:
            return self._publisher.publish(rows)
        except Exception as exc:
            # Settle the claim now rather than strand the rows until the lease expires.
            self._log.exception("relay.publisher_crashed")
            error = describe_error(exc)
            return PublishOutcome(failed={row.id: error for row in rows})

    def _failure_groups(
        self, failed: dict[uuid.UUID, ClaimedRow], outcome: PublishOutcome
    ) -> dict[tuple[str, float], list[uuid.UUID]]:
        groups: dict[tuple[str, float], list[uuid.UUID]] = defaultdict(list)
        for row_id, row in failed.items():
            error = outcome.failed.get(row_id, "publisher did not report this row")
            groups[(error, self._backoff(row.attempts))].append(row_id)
        return groups

    def _log_cycle(
        self,
        rows: Sequence[ClaimedRow],
        outcome: PublishOutcome,
        published: list[uuid.UUID],
        failed: dict[uuid.UUID, ClaimedRow],
        marked: int,
        elapsed_s: float,
    ) -> None:
        if published:
            self._log.info(
                "relay.published", count=len(published), elapsed_ms=round(elapsed_s * 1000)
            )
        if failed:
            first = next(iter(failed))
            self._log.warning(
                "relay.publish_failed",
                count=len(failed),
                error=outcome.failed.get(first),
                max_attempts=max(row.attempts for row in failed.values()),
            )
        if marked < len(published):
            # Another relay took the rows over after our lease ran out: they may go out twice.
            self._log.warning("relay.lease_lost", count=len(published) - marked)
        if elapsed_s > self._lease_s:
            self._log.warning("relay.lease_overrun", elapsed_s=elapsed_s, claimed=len(rows))

    def _idle(self, stop: threading.Event) -> None:
        deadline = time.monotonic() + self._poll_interval_s
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._wakeup.wait(min(remaining, _STOP_CHECK_S)):
                return

    def _backoff(self, attempt: int) -> float:
        return float(min(self._backoff_max_s, _BACKOFF_BASE_S * 2 ** min(attempt - 1, 30)))

    def _jittered_backoff(self, attempt: int) -> float:
        return self._backoff(attempt) * random.uniform(0.5, 1.0)
