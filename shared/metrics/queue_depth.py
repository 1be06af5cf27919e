"""RabbitMQ queue depths at scrape time, read with passive declares (no management plugin)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator, Sequence

import pika
import pika.exceptions
import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.agent_types import AgentType
from shared.sending.queue import SENDER_QUEUE

__all__ = [
    "WORK_QUEUES",
    "QueueDepthCollector",
    "QueueDepths",
    "fleet_queue_names",
    "read_queue_depths",
]

log = structlog.get_logger(__name__)

QueueDepths = dict[str, tuple[int, int]]
"""Queue name → (messages ready, consumers), for the queues that exist."""


WORK_QUEUES = (*(agent_type.value for agent_type in AgentType), SENDER_QUEUE)
"""Every queue a worker pool consumes: one per agent type, and the sender's."""


def fleet_queue_names() -> list[str]:
    """Every worker queue with its delay (``.DQ``) and dead-letter (``.XQ``) queue."""
    return [name for base in WORK_QUEUES for name in (base, f"{base}.DQ", f"{base}.XQ")]


def read_queue_depths(
    channel_source: pika.BlockingConnection, queues: Iterable[str]
) -> QueueDepths:
    """Passive-declare each queue on ``channel_source``; absent queues are left out."""
    depths: QueueDepths = {}
    channel = channel_source.channel()
    try:
        for queue in queues:
            try:
                frame = channel.queue_declare(queue=queue, passive=True)
            except pika.exceptions.ChannelClosedByBroker:
                channel = channel_source.channel()  # 404: the queue does not exist yet
                continue
            depths[queue] = (frame.method.message_count, frame.method.consumer_count)
    finally:
        if channel.is_open:
            channel.close()
    return depths


class QueueDepthCollector(Collector):
    """``agentfleet_queue_depth`` and ``agentfleet_queue_consumers`` per queue.

    One connection, opened on first scrape and reopened after a failure; readings are reused
    for ``max_age_s`` so frequent scrapes do not hammer the broker.
    """

    def __init__(
        self, broker_url: str, queues: Sequence[str] | None = None, *, max_age_s: float = 5.0
    ) -> None:
        self._parameters = pika.URLParameters(broker_url)
        self._queues = list(queues or fleet_queue_names())
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self._cached: tuple[float, QueueDepths] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depths = self._read()
        depth = GaugeMetricFamily(
            "agentfleet_queue_depth", "Messages ready on a RabbitMQ queue.", labels=["queue"]
        )
        consumers = GaugeMetricFamily(
            "agentfleet_queue_consumers",
            "Consumers attached to a RabbitMQ queue.",
            labels=["queue"],
        )
        for queue, (ready, attached) in sorted(depths.items()):
            depth.add_metric([queue], ready)
            consumers.add_metric([queue], attached)
        yield depth
        yield consumers

    def close(self) -> None:
        with self._lock:
            self._drop_connection()

    def _read(self) -> QueueDepths:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self._max_age_s:
                return self._cached[1]
            # A connection idle since the last scrape may have been dropped: try a new one once.
            for attempt in (1, 2):
                try:
                    if self._connection is None or not self._connection.is_open:
                        self._connection = pika.BlockingConnection(self._parameters)
                    depths = read_queue_depths(self._connection, self._queues)
                except pika.exceptions.AMQPError as exc:
                    self._drop_connection()
                    if attempt == 2:
                        error = str(exc) or type(exc).__name__
                        log.warning("metrics.queue_depth_unavailable", error=error)
                        return {}
                    continue
                self._cached = (time.monotonic(), depths)
                return depths
            return {}

    def _drop_connection(self) -> None:
        if self._connection is not None and self._connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError):
                self._connection.close()
        self._connection = None
