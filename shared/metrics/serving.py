"""The exporter of a single-process service (relay, scheduler): its own registry and port."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from shared.metrics.exposition import MetricsServer, start_metrics_server
from shared.metrics.process import install_metrics
from shared.settings import Settings

__all__ = ["heartbeat_within", "serve_process_metrics"]


def serve_process_metrics(
    settings: Settings,
    *,
    healthy: Callable[[], bool],
    collectors: Sequence[Collector] = (),
) -> MetricsServer | None:
    """Install this process's metrics on a registry of its own and serve them, with
    ``collectors`` read at scrape time; None when the exporter is off or its port is taken."""
    registry = CollectorRegistry()
    install_metrics(registry)
    for collector in collectors:
        registry.register(collector)
    if not settings.metrics_port:
        return None
    return start_metrics_server(
        settings.metrics_host, settings.metrics_port, lambda: registry, healthy=healthy
    )


def heartbeat_within(last_beat: Callable[[], float], max_silence_s: float) -> Callable[[], bool]:
    """A health check that fails once ``last_beat()`` (``time.monotonic``) is too old."""
    return lambda: time.monotonic() - last_beat() <= max_silence_s
