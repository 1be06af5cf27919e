"""Dead-letter sinks: an invalid message goes to its queue's ``.XQ`` with the reason attached."""

from __future__ import annotations

import threading
from typing import Any, Protocol

import dramatiq
import pika
from dramatiq.common import q_name, xq_name

from shared.broker.topology import (
    DEAD_LETTER_QUEUE_HEADER,
    DEAD_LETTER_REASON_HEADER,
    DEAD_LETTER_REASON_MAX_LENGTH,
)
from shared.metrics import fleet_metrics

__all__ = [
    "DeadLetterSink",
    "InProcessDeadLetters",
    "RabbitmqDeadLetters",
    "dead_letter_properties",
]

MAX_REASON_LENGTH = DEAD_LETTER_REASON_MAX_LENGTH


class DeadLetterSink(Protocol):
    def dead_letter(
        self, message: dramatiq.Message[Any], reason: str, *, kind: str = "invalid"
    ) -> None:
        """Park ``message`` with ``reason``; the caller then acknowledges the original.

        ``kind`` names the sort of problem in a word, for the dead-letter metric."""


def dead_letter_properties(queue: str, reason: str, message_id: str | None) -> pika.BasicProperties:
    return pika.BasicProperties(
        delivery_mode=2,
        content_type="application/json",
        message_id=message_id,
        headers={
            DEAD_LETTER_REASON_HEADER: reason[:MAX_REASON_LENGTH],
            DEAD_LETTER_QUEUE_HEADER: queue,
        },
    )


class RabbitmqDeadLetters:
    """Publishes on the broker's per-thread channel, which is in confirm mode."""

    def __init__(self, broker: Any) -> None:
        self._broker = broker

    def dead_letter(
        self, message: dramatiq.Message[Any], reason: str, *, kind: str = "invalid"
    ) -> None:
        queue = q_name(message.queue_name)
        self._broker.channel.basic_publish(
            exchange="",
            routing_key=xq_name(queue),
            body=message.encode(),
            properties=dead_letter_properties(queue, reason, message.message_id),
            mandatory=True,
        )
        fleet_metrics().dead_letters.labels(queue, kind).inc()


class InProcessDeadLetters:
    """Keeps dead letters in the stub broker's dead-letter lists (embedded mode)."""

    def __init__(self, broker: Any) -> None:
        self._broker = broker
        self._lock = threading.Lock()
        self.reasons: dict[str, str] = {}

    def dead_letter(
        self, message: dramatiq.Message[Any], reason: str, *, kind: str = "invalid"
    ) -> None:
        with self._lock:
            self.reasons[message.message_id] = reason
            self._broker.dead_letters_by_queue[q_name(message.queue_name)].append(message)
        fleet_metrics().dead_letters.labels(q_name(message.queue_name), kind).inc()
