"""The metrics of this process: installed once by its composition root, then shared.

A process that installed none (a unit test, a helper script) gets metrics on a private
registry of its own, so recording is always safe and never reaches a global registry.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from prometheus_client import CollectorRegistry, values

from shared.metrics.catalogue import FleetMetrics

__all__ = ["enable_multiprocess", "fleet_metrics", "install_metrics"]

_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_lock = threading.Lock()
_installed: FleetMetrics | None = None


def install_metrics(registry: CollectorRegistry | None) -> FleetMetrics:
    """Build this process's metrics on ``registry`` (None: the multiprocess files)."""
    global _installed
    with _lock:
        _installed = FleetMetrics(registry)
        return _installed


def fleet_metrics() -> FleetMetrics:
    """The installed metrics, or metrics on a private registry when none were installed."""
    global _installed
    with _lock:
        if _installed is None:
            _installed = FleetMetrics(CollectorRegistry())
        return _installed


def enable_multiprocess(directory: Path) -> None:
    """Make every metric created from now on in this process write to ``directory``.

    prometheus_client chooses its value store from the environment when first imported, so
    the choice is made again here, after the directory is known.
    """
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[_MULTIPROC_ENV] = str(directory)
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
