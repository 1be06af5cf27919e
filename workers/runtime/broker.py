"""The production broker: Dramatiq's RabbitMQ broker whose consumers dead-letter, with a reason,
the bodies Dramatiq itself cannot decode or route (it would drop the reason on the floor)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker, _RabbitmqConsumer
from dramatiq.common import xq_name
from dramatiq.errors import DecodeError
from dramatiq.middleware import (
    CurrentMessage,
    Middleware,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from shared.metrics import fleet_metrics
from shared.settings import Settings
from workers.runtime.dead_letters import dead_letter_properties

__all__ = ["ReasonedRabbitmqBroker", "build_rabbitmq_broker", "pool_middleware"]

_Delivery = tuple[Any, Any, Any]


class _ScreeningConsumer(_RabbitmqConsumer):
    def __init__(
        self, broker: ReasonedRabbitmqBroker, queue_name: str, prefetch: int, timeout: int
    ):
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self._dead_letter_channel = self.connection.channel()
        self._dead_letter_channel.confirm_delivery()
        self.iterator = self._screened(self.iterator)

    def _screened(self, deliveries: Iterator[_Delivery]) -> Iterator[_Delivery]:
        for method, properties, body in deliveries:
            if method is None:
                yield method, properties, body
                continue
            problem = self._problem_with(body)
            if problem is None:
                yield method, properties, body
                continue
            kind, reason = problem
            self.logger.warning("Dead-lettering message: %s", reason)
            self._dead_letter_channel.basic_publish(
                exchange="",
                routing_key=xq_name(self.queue_name),
                body=body,
                properties=dead_letter_properties(
                    self.queue_name, reason, getattr(properties, "message_id", None)
                ),
                mandatory=True,
            )
            self.channel.basic_ack(method.delivery_tag)
            fleet_metrics().dead_letters.labels(self.queue_name, kind).inc()
            yield None, None, None

    def _problem_with(self, body: bytes) -> tuple[str, str] | None:
        """The kind of problem and the reason, for a body no actor can take."""
        try:
            message = dramatiq.Message.decode(body)
        except DecodeError as exc:
            cause = exc.__cause__ or exc
            return "malformed", f"malformed message: body is not a Dramatiq JSON message ({cause})"
        if message.actor_name not in self.broker.actors:
            return "unknown_actor", (
                f"unknown actor {message.actor_name!r} on queue {self.queue_name!r}"
            )
        return None


class ReasonedRabbitmqBroker(RabbitmqBroker):
    @property
    def consumer_class(self) -> type[_RabbitmqConsumer]:
        return _ScreeningConsumer


def pool_middleware(settings: Settings) -> list[Middleware]:
    """Middleware for a worker pool: time limit, shutdown notices, retries, current message."""
    return [
        TimeLimit(time_limit=settings.task_time_limit_s * 1000),
        ShutdownNotifications(),
        Retries(max_retries=settings.task_max_retries, min_backoff=settings.worker_min_backoff_ms),
        CurrentMessage(),
    ]


def build_rabbitmq_broker(settings: Settings, extra: list[Middleware]) -> ReasonedRabbitmqBroker:
    """Publisher confirms on; queues carry priorities. Connects lazily, never at construction."""
    return ReasonedRabbitmqBroker(
        url=settings.broker_url,
        confirm_delivery=True,
        max_priority=settings.broker_max_priority,
        middleware=[*pool_middleware(settings), *extra],
    )
