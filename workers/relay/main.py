"""The relay process's composition root: ``python -m workers.relay.main``."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import structlog

from shared.db.database import open_database
from shared.logging import configure_logging
from shared.settings import Settings, get_settings
from workers.relay.publishers import RabbitmqPublisher
from workers.relay.relay import Relay
from workers.relay.wakeup import PostgresNotifyWakeup, libpq_conninfo

__all__ = ["main", "run_relay"]

logger = structlog.get_logger(__name__)

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_relay(settings: Settings) -> None:
    """Run one relay until SIGTERM or SIGINT, then close everything and return.

    Call it from the main thread (signal handlers); logging is the caller's to configure.
    """
    stop = threading.Event()
    received: list[int] = []

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        # Only flag it: logging here could deadlock on a lock the interrupted code holds.
        received.append(signum)
        stop.set()

    db = open_database(settings.relay_url(), pool_size=2)
    publisher = RabbitmqPublisher(
        settings.broker_url, settings.events_exchange, settings.broker_max_priority
    )
    wakeup = PostgresNotifyWakeup(libpq_conninfo(settings.relay_url()))
    relay = Relay(
        db,
        publisher,
        wakeup,
        batch_size=settings.outbox_batch_size,
        lease_s=settings.outbox_claim_ttl_s,
        poll_interval_s=settings.outbox_poll_interval_s,
        backoff_max_s=settings.relay_reconnect_max_s,
    )
    previous = {sig: signal.signal(sig, _on_signal) for sig in _STOP_SIGNALS}
    try:
        relay.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        wakeup.close()
        publisher.close()
        db.dispose()
    logger.info("relay.exited", signals=[signal.Signals(sig).name for sig in received])


def main() -> int:
    """Entry point: settings from the environment, exit status 0 after a clean stop."""
    settings = get_settings()
    configure_logging(settings)
    run_relay(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
