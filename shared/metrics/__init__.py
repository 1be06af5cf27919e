"""Prometheus metrics: the catalogue, this process's instance, and how they are served."""

from shared.metrics.catalogue import METRIC_NAMES, FleetMetrics
from shared.metrics.process import enable_multiprocess, fleet_metrics, install_metrics

__all__ = [
    "METRIC_NAMES",
    "FleetMetrics",
    "enable_multiprocess",
    "fleet_metrics",
    "install_metrics",
]
