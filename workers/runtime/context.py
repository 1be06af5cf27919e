"""The worker context: what actors use, built once per process after fork (never at import)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from dramatiq.middleware import Middleware

from shared.db.database import Database
from shared.settings import Settings
from workers.runtime.dead_letters import DeadLetterSink
from workers.runtime.providers import ProviderAccess

__all__ = ["WorkerBoot", "WorkerContext"]

log = structlog.get_logger(__name__)


@dataclass
class WorkerContext:
    settings: Settings
    db: Database
    dead_letters: DeadLetterSink
    providers: ProviderAccess

    def close(self) -> None:
        self.providers.close()
        self.db.dispose()


class WorkerBoot(Middleware):
    """Builds the context after the worker process boots and closes it at shutdown."""

    def __init__(self, build: Callable[[], WorkerContext]) -> None:
        self._build = build
        self._context: WorkerContext | None = None
        self._running = 0
        self._lock = threading.Lock()

    @property
    def context(self) -> WorkerContext:
        if self._context is None:
            raise RuntimeError("worker context used before the worker process booted")
        return self._context

    def start(self) -> WorkerContext:
        if self._context is None:
            self._context = self._build()
        return self._context

    def stop(self) -> None:
        if self._context is not None:
            self._context.close()
            self._context = None

    def after_process_boot(self, broker: Any) -> None:
        self.start()

    def before_process_message(self, broker: Any, message: Any) -> None:
        with self._lock:
            self._running += 1

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        with self._lock:
            self._running -= 1

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        # Threads still running past --worker-shutdown-timeout are abandoned (their messages
        # went back to the queue); closing the clients under them could fail their tasks.
        with self._lock:
            running = self._running
        if running:
            log.warning("worker.shutdown_abandoned", running=running)
            return
        self.stop()
