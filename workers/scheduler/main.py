"""The scheduler process's composition root: ``agentfleet scheduler``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from shared.db.base import utcnow
from shared.db.database import Database, open_database
from shared.logging import configure_logging
from shared.metrics.serving import heartbeat_within, serve_process_metrics
from shared.settings import Settings, get_settings
from workers.runtime.signals import stop_on_signals
from workers.scheduler.inbox import build_inbox_polling
from workers.scheduler.scheduler import Scheduler

__all__ = ["build_scheduler", "main", "run_scheduler"]

logger = structlog.get_logger(__name__)


def build_scheduler(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow
) -> tuple[Scheduler, Database]:
    """The scheduler (polling mailbox inboxes too) and its database handle (role
    ``agentfleet_scheduler``); no connection yet."""
    db = open_database(settings.scheduler_url(), pool_size=2)
    scheduler = Scheduler(
        db,
        poll_interval_s=settings.scheduler_poll_interval_s,
        batch_size=settings.scheduler_batch_size,
        clock=clock,
        inbox=build_inbox_polling(settings),
    )
    return scheduler, db


def run_scheduler(settings: Settings) -> None:
    """Run one scheduler until SIGTERM or SIGINT, then close everything and return.

    Call it from the main thread (signal handlers); logging is the caller's to configure.
    """
    scheduler, db = build_scheduler(settings)
    # A pass may read many mailboxes, each bounded by the IMAP timeout.
    max_silence_s = max(300.0, 10 * settings.scheduler_poll_interval_s)
    exporter = serve_process_metrics(
        settings, healthy=heartbeat_within(lambda: scheduler.last_cycle_at, max_silence_s)
    )
    try:
        with stop_on_signals() as stop:
            scheduler.run(stop.event)
    finally:
        if exporter is not None:
            exporter.close()
        db.dispose()
    logger.info("scheduler.exited", signals=stop.received)


def main() -> int:
    """Entry point: settings from the environment, exit status 0 after a clean stop."""
    settings = get_settings()
    configure_logging(settings)
    run_scheduler(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
