"""The baseline pool: a no-op Dramatiq actor that does two inserts per message.

``dramatiq bench.bare_pool --queues bench_bare`` with ``AGENTFLEET_*`` settings in the
environment; same broker class, same database, none of agentfleet's work.
"""

from __future__ import annotations

import uuid
from typing import Any

import dramatiq
import sqlalchemy as sa

from bench.throughput import BARE_QUEUE as QUEUE
from bench.throughput import BARE_TABLE as TABLE
from shared.settings import get_settings
from workers.runtime.broker import build_rabbitmq_broker

_settings = get_settings()
broker = build_rabbitmq_broker(_settings, [])
dramatiq.set_broker(broker)
_engine: list[sa.Engine] = []


def _db() -> sa.Engine:
    if not _engine:
        _engine.append(sa.create_engine(_settings.migration_url(), pool_size=16))
    return _engine[0]


@dramatiq.actor(queue_name=QUEUE, actor_name=QUEUE, broker=broker)
def bench_bare(payload: dict[str, Any]) -> None:
    with _db().begin() as connection:
        for step in ("first", "second"):
            connection.execute(
                sa.text(f"INSERT INTO {TABLE} (id, step, payload) VALUES (:id, :step, :payload)"),
                {"id": uuid.uuid4(), "step": step, "payload": str(payload)},
            )
