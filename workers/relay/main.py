"""The relay process's composition root: ``python -m workers.relay.main``."""

from __future__ import annotations

import structlog

from shared.db.database import open_database
from shared.logging import configure_logging
from shared.metrics.queue_depth import QueueDepthCollector
from shared.metrics.serving import heartbeat_within, serve_process_metrics
from shared.settings import Settings, get_settings
from workers.relay.publishers import RabbitmqPublisher
from workers.relay.relay import Relay
from workers.relay.wakeup import PostgresNotifyWakeup, libpq_conninfo
from workers.runtime.signals import stop_on_signals

__all__ = ["main", "run_relay"]

logger = structlog.get_logger(__name__)

# Longer than any cycle (bounded by the claim lease) or back-off: beyond it the loop is stuck.
_MAX_SILENCE_S = 120.0


def run_relay(settings: Settings) -> None:
    """Run one relay until SIGTERM or SIGINT, then close everything and return.

    Call it from the main thread (signal handlers); logging is the caller's to configure.
    """
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
    queue_depths = QueueDepthCollector(settings.broker_url)
    exporter = serve_process_metrics(
        settings,
        healthy=heartbeat_within(lambda: relay.last_cycle_at, _MAX_SILENCE_S),
        collectors=[queue_depths],
    )
    try:
        with stop_on_signals() as stop:
            relay.run(stop.event)
    finally:
        if exporter is not None:
            exporter.close()
        queue_depths.close()
        wakeup.close()
        publisher.close()
        db.dispose()
    logger.info("relay.exited", signals=stop.received)


def main() -> int:
    """Entry point: settings from the environment, exit status 0 after a clean stop."""
    settings = get_settings()
    configure_logging(settings)
    run_relay(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
