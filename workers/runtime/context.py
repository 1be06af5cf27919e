"""The worker context: what actors use, built once per process after fork (never at import)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dramatiq.middleware import Middleware

from shared.db.database import Database
from shared.settings import Settings
from workers.runtime.dead_letters import DeadLetterSink
from workers.runtime.providers import ProviderAccess

__all__ = ["WorkerBoot", "WorkerContext"]


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

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        self.stop()
