"""The scheduler process's composition root: ``agentfleet scheduler``."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType

import structlog

from shared.db.base import utcnow
from shared.db.database import Database, open_database
from shared.logging import configure_logging
from shared.settings import Settings, get_settings
from workers.scheduler.scheduler import Scheduler

__all__ = ["build_scheduler", "main", "run_scheduler"]

logger = structlog.get_logger(__name__)

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def build_scheduler(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow
) -> tuple[Scheduler, Database]:
    """The scheduler and its database handle (role ``agentfleet_scheduler``); no connection yet."""
    db = open_database(settings.scheduler_url(), pool_size=2)
    scheduler = Scheduler(
        db,
        poll_interval_s=settings.scheduler_poll_interval_s,
        batch_size=settings.scheduler_batch_size,
        clock=clock,
    )
    return scheduler, db


def run_scheduler(settings: Settings) -> None:
    """Run one scheduler until SIGTERM or SIGINT, then close everything and return.

    Call it from the main thread (signal handlers); logging is the caller's to configure.
    """
    stop = threading.Event()
    received: list[int] = []

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    scheduler, db = build_scheduler(settings)
    previous = {sig: signal.signal(sig, _on_signal) for sig in _STOP_SIGNALS}
    try:
        scheduler.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        db.dispose()
    logger.info("scheduler.exited", signals=[signal.Signals(sig).name for sig in received])


def main() -> int:
    """Entry point: settings from the environment, exit status 0 after a clean stop."""
    settings = get_settings()
    configure_logging(settings)
    run_scheduler(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
