"""Fleet-wide gauges read from Postgres at scrape time: approval backlog and age, outbox lag
and backlog, open tasks, and each tenant's spend this month against its budget.

They come from one definer function (migration 0007) that returns aggregates only; readings
are reused for a few seconds so that frequent scrapes, or several API replicas, stay cheap.
Embedded mode (SQLite) has no such function and reports none of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.db.base import utcnow
from shared.db.database import Database

__all__ = ["FleetStatsCollector"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Family:
    name: str
    documentation: str
    labels: tuple[str, ...]


_FAMILIES = {
    "approvals_pending": _Family(
        "agentfleet_approvals_pending", "Approval items waiting for a decision.", ("agent_type",)
    ),
    "approval_oldest_pending_age_seconds": _Family(
        "agentfleet_approval_oldest_pending_age_seconds",
        "Age of the oldest approval item waiting for a decision.",
        ("agent_type",),
    ),
    "outbox_unpublished": _Family(
        "agentfleet_outbox_unpublished", "Outbox rows not yet published.", ("kind",)
    ),
    "outbox_lag_seconds": _Family(
        "agentfleet_outbox_lag_seconds",
        "Age of the oldest outbox row that is due and not yet published (0 when none).",
        (),
    ),
    "tasks_open": _Family(
        "agentfleet_tasks_open", "Tasks pending or in progress.", ("agent_type", "status")
    ),
    "tenant_month_cost_usd": _Family(
        "agentfleet_tenant_month_cost_usd",
        "A tenant's provider spend this calendar month (UTC), in US dollars.",
        ("tenant",),
    ),
    "tenant_budget_used_ratio": _Family(
        "agentfleet_tenant_budget_used_ratio",
        "Share of a tenant's monthly budget spent (tenants with a budget).",
        ("tenant",),
    ),
}

_Row = tuple[str, str | None, str | None, float]


class FleetStatsCollector(Collector):
    def __init__(self, database: Callable[[], Database | None], *, max_age_s: float = 5.0):
        self._database = database
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._cached: tuple[float, list[_Row]] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {
            key: GaugeMetricFamily(family.name, family.documentation, labels=list(family.labels))
            for key, family in _FAMILIES.items()
        }
        for metric, label_1, label_2, value in self._read():
            family = families.get(metric)
            if family is None:
                continue
            labels = [label for label in (label_1, label_2) if label is not None]
            family.add_metric(labels[: len(_FAMILIES[metric].labels)], value)
        yield from families.values()

    def _read(self) -> list[_Row]:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self._max_age_s:
                return self._cached[1]
            database = self._database()
            if database is None or database.dialect != "postgresql":
                return []
            try:
                with database.engine.connect() as connection:
                    result = connection.execute(
                        sa.text("SELECT * FROM agentfleet_fleet_stats(:now)"), {"now": utcnow()}
                    )
                    rows = [(r.metric, r.label_1, r.label_2, float(r.value)) for r in result]
            except sa.exc.SQLAlchemyError as exc:
                log.warning("metrics.fleet_stats_unavailable", error=str(exc).splitlines()[0])
                return []
            self._cached = (time.monotonic(), rows)
            return rows
