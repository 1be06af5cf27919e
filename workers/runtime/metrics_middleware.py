"""Task metrics of a worker pool, correct under Dramatiq's several worker processes.

Each worker process writes its metrics to files in a directory shared by the processes of
one ``dramatiq`` command (named after the command's process id); a fork of that command
serves them all on one port (``AGENTFLEET_METRICS_PORT``), with ``/healthz`` beside.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware
from prometheus_client import multiprocess

from shared.metrics.exposition import multiprocess_registry, process_alive, start_metrics_server
from shared.metrics.process import enable_multiprocess, fleet_metrics, install_metrics
from shared.settings import Settings, get_settings
from workers.runtime.outcomes import TaskOutcome, take_outcome

__all__ = ["PoolMetrics", "serve_pool_metrics"]

_DEFERRAL_REASONS = {TaskOutcome.DEFERRED: "rate_limited", TaskOutcome.HELD: "quota"}


def _pool_directory(settings: Settings, command_pid: int) -> Path:
    return Path(settings.metrics_dir) / f"pool-{command_pid}"


class PoolMetrics(Middleware):
    """Counts every message a worker takes: outcome, duration, queue wait, retries, in flight.

    The outcome is what the actor noted (:mod:`workers.runtime.outcomes`); an exception means
    the message goes back for a retry, since the task runner settles every final failure.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()
        self._directory: Path | None = None

    @property
    def forks(self) -> list[Any]:
        return [serve_pool_metrics] if self._settings.metrics_port else []

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        self._directory = _pool_directory(self._settings, os.getppid())
        enable_multiprocess(self._directory)
        install_metrics(None)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        if self._directory is not None:
            multiprocess.mark_process_dead(os.getpid(), str(self._directory))  # type: ignore[no-untyped-call]

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        metrics = fleet_metrics()
        queue = _queue(message)
        now = time.time()
        with self._lock:
            self._started[message.message_id] = time.monotonic()
        metrics.tasks_in_flight.labels(queue).inc()
        due_ms = max(int(message.message_timestamp), int(message.options.get("eta") or 0))
        metrics.task_queue_wait.labels(queue).observe(max(0.0, now - due_ms / 1000))

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            started = self._started.pop(message.message_id, None)
        noted = take_outcome()
        if started is None:
            return  # skipped before it started
        metrics = fleet_metrics()
        queue = _queue(message)
        metrics.tasks_in_flight.labels(queue).dec()
        metrics.task_duration.labels(queue).observe(time.monotonic() - started)
        if exception is not None:
            metrics.tasks.labels(queue, "retried").inc()
            metrics.task_retries.labels(queue).inc()
            return
        outcome = noted or TaskOutcome.COMPLETED
        metrics.tasks.labels(queue, outcome.value).inc()
        if outcome in _DEFERRAL_REASONS:
            metrics.task_deferrals.labels(queue, _DEFERRAL_REASONS[outcome]).inc()

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)


def _queue(message: MessageProxy) -> str:
    # Retries come back through the delay queue under the same name; the label is the pool.
    return message.queue_name.removesuffix(".DQ").removesuffix(".XQ")


def serve_pool_metrics() -> int:
    """Dramatiq fork: serve the pool's metrics until the command stops."""
    settings = get_settings()
    directory = _pool_directory(settings, os.getppid())
    directory.mkdir(parents=True, exist_ok=True)
    _remove_directories_of_stopped_commands(Path(settings.metrics_dir))
    server = start_metrics_server(
        settings.metrics_host,
        settings.metrics_port,
        lambda: multiprocess_registry(directory),
        healthy=lambda: os.getppid() > 1,
    )
    # Without its exporter (port taken, logged) the pool still works: keep the fork alive, as
    # Dramatiq stops the whole command when a fork exits.
    threading.Event().wait()
    if server is not None:
        server.close()
    return 0


def _remove_directories_of_stopped_commands(root: Path) -> None:
    for directory in root.glob("pool-*"):
        pid = directory.name.removeprefix("pool-")
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(directory, ignore_errors=True)
