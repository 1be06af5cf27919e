"""RabbitMQ topology and message formats shared by the relay (publisher) and the worker pools.

The relay declares queues exactly as Dramatiq's RabbitMQ broker does, so a Dramatiq worker
started later on the same queue never meets a PRECONDITION_FAILED.
"""

from shared.broker.messages import dramatiq_message_for_task
from shared.broker.topology import (
    DEAD_LETTER_QUEUE_HEADER,
    DEAD_LETTER_REASON_HEADER,
    declare_agent_queue,
    declare_events_exchange,
    dq_name,
    queue_arguments,
    unrouted_name,
    xq_name,
)

__all__ = [
    "DEAD_LETTER_QUEUE_HEADER",
    "DEAD_LETTER_REASON_HEADER",
    "declare_agent_queue",
    "declare_events_exchange",
    "dq_name",
    "dramatiq_message_for_task",
    "queue_arguments",
    "unrouted_name",
    "xq_name",
]
