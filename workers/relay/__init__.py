"""The outbox relay: the only publisher of task messages and events.

It claims outbox rows (``FOR UPDATE SKIP LOCKED`` with a lease), publishes them with publisher
confirms and ``mandatory``, and marks them published only once the broker confirmed them.
"""

from workers.relay.claims import ClaimedRow, claim_batch, mark_published, release
from workers.relay.main import run_relay
from workers.relay.publishers import (
    InProcessPublisher,
    Publisher,
    PublishOutcome,
    RabbitmqPublisher,
)
from workers.relay.relay import CycleResult, Relay
from workers.relay.wakeup import (
    EngineCommitWakeup,
    PostgresNotifyWakeup,
    Wakeup,
    libpq_conninfo,
)

__all__ = [
    "ClaimedRow",
    "CycleResult",
    "EngineCommitWakeup",
    "InProcessPublisher",
    "PostgresNotifyWakeup",
    "PublishOutcome",
    "Publisher",
    "RabbitmqPublisher",
    "Relay",
    "Wakeup",
    "claim_batch",
    "libpq_conninfo",
    "mark_published",
    "release",
    "run_relay",
]
