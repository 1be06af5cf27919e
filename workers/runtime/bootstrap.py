"""Composition root of a worker pool process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dramatiq

from shared.credentials import credential_cipher
from shared.db.database import open_database
from shared.logging import configure_logging
from shared.ratelimit import LimitBook
from shared.ratelimit.build import build_call_gate, redis_client_from_settings
from shared.settings import Settings, get_settings
from workers.runtime.broker import ReasonedRabbitmqBroker, build_rabbitmq_broker
from workers.runtime.context import WorkerBoot, WorkerContext
from workers.runtime.dead_letters import RabbitmqDeadLetters
from workers.runtime.metrics_middleware import PoolMetrics
from workers.runtime.providers import ProviderAccess

__all__ = ["ActorDeclaration", "build_pool"]

ActorDeclaration = Callable[[dramatiq.Broker, WorkerBoot], Any]


def build_pool(
    declarations: Sequence[ActorDeclaration], settings: Settings | None = None
) -> tuple[ReasonedRabbitmqBroker, WorkerBoot]:
    """The broker with the pool's actors, set as Dramatiq's global broker for the CLI."""
    settings = settings or get_settings()
    configure_logging(settings)

    def build_context() -> WorkerContext:
        db = open_database(settings.database_url, pool_size=settings.db_pool_size)
        book = LimitBook(settings)
        gate = build_call_gate(settings, redis_client_from_settings(settings), book)
        providers = ProviderAccess(settings, db, credential_cipher(settings), gate, limit_book=book)
        return WorkerContext(
            settings=settings, db=db, dead_letters=RabbitmqDeadLetters(broker), providers=providers
        )

    boot = WorkerBoot(build_context)
    broker = build_rabbitmq_broker(settings, [PoolMetrics(settings), boot])
    dramatiq.set_broker(broker)
    for declare in declarations:
        declare(broker, boot)
    return broker, boot
