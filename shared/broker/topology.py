"""Queue and exchange declarations: agent queues as Dramatiq declares them, and the events exchange.

An agent queue, its delay queue (``.DQ``) and its dead-letter queue (``.XQ``) are declared with
the very arguments Dramatiq's ``RabbitmqBroker(max_priority=...)`` uses; RabbitMQ refuses a
second declaration whose arguments differ, so any drift would stop the worker pools.
"""

from __future__ import annotations

from typing import Any

from dramatiq.brokers.rabbitmq import DEAD_MESSAGE_TTL
from dramatiq.common import dq_name as _dramatiq_dq_name
from dramatiq.common import xq_name as _dramatiq_xq_name

__all__ = [
    "DEAD_LETTER_QUEUE_HEADER",
    "DEAD_LETTER_REASON_HEADER",
    "DEAD_LETTER_REASON_MAX_LENGTH",
    "UNROUTED_MAX_LENGTH",
    "UNROUTED_TTL_MS",
    "declare_agent_queue",
    "declare_events_exchange",
    "dq_name",
    "queue_arguments",
    "unrouted_name",
    "xq_name",
]

DEAD_LETTER_REASON_HEADER = "x-agentfleet-dead-letter-reason"
DEAD_LETTER_QUEUE_HEADER = "x-agentfleet-original-queue"
DEAD_LETTER_REASON_MAX_LENGTH = 2000
"""Longest reason written into the dead-letter header (longer ones are cut)."""

UNROUTED_TTL_MS = 7 * 24 * 60 * 60 * 1000
UNROUTED_MAX_LENGTH = 1_000_000


def xq_name(queue: str) -> str:
    """The dead-letter queue of ``queue`` (Dramatiq's naming: ``outreach.XQ``)."""
    return _dramatiq_xq_name(queue)


def dq_name(queue: str) -> str:
    """The delay queue of ``queue`` (Dramatiq's naming: ``outreach.DQ``)."""
    return _dramatiq_dq_name(queue)


def unrouted_name(exchange: str) -> str:
    """The alternate exchange, and its queue, that catch events nobody subscribed to."""
    return f"{exchange}.unrouted"


def queue_arguments(queue: str, max_priority: int) -> dict[str, Any]:
    """The arguments Dramatiq declares an agent queue (and its delay queue) with."""
    arguments: dict[str, Any] = {
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": xq_name(queue),
    }
    if max_priority:
        arguments["x-max-priority"] = max_priority
    return arguments


def declare_agent_queue(channel: Any, queue: str, max_priority: int) -> None:
    """Declare ``queue``, its ``.DQ`` and its ``.XQ`` (durable) exactly as Dramatiq does."""
    arguments = queue_arguments(queue, max_priority)
    channel.queue_declare(queue=queue, durable=True, arguments=arguments)
    channel.queue_declare(queue=dq_name(queue), durable=True, arguments=arguments)
    channel.queue_declare(
        queue=xq_name(queue), durable=True, arguments={"x-message-ttl": DEAD_MESSAGE_TTL}
    )


def declare_events_exchange(channel: Any, name: str) -> None:
    """Declare the events topic exchange with a bounded catch-all for unrouted events.

    Events are published with ``mandatory``; the alternate exchange makes every event routable
    even before anyone subscribes, and its queue keeps them inspectable for a week.
    """
    unrouted = unrouted_name(name)
    channel.exchange_declare(exchange=unrouted, exchange_type="fanout", durable=True)
    channel.queue_declare(
        queue=unrouted,
        durable=True,
        arguments={
            "x-message-ttl": UNROUTED_TTL_MS,
            "x-max-length": UNROUTED_MAX_LENGTH,
            "x-overflow": "drop-head",
        },
    )
    channel.queue_bind(queue=unrouted, exchange=unrouted)
    channel.exchange_declare(
        exchange=name,
        exchange_type="topic",
        durable=True,
        arguments={"alternate-exchange": unrouted},
    )
