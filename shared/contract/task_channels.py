"""The queues of the broker contract: one per agent type (its task messages), the sender's, and
the dead-letter queue (``.XQ``) of each, with the operations on them."""

from __future__ import annotations

from typing import Any

from dramatiq.brokers.rabbitmq import DEAD_MESSAGE_TTL

from shared.agent_types import TASK_TYPES, AgentType
from shared.broker.topology import (
    DEAD_LETTER_QUEUE_HEADER,
    DEAD_LETTER_REASON_HEADER,
    DEAD_LETTER_REASON_MAX_LENGTH,
    queue_arguments,
    xq_name,
)
from shared.contract.components import component_ref
from shared.contract.parts import (
    TRACE_HEADERS,
    DocumentParts,
    channel_ref,
    message_ref,
    queue_binding,
    receive_binding,
    send_binding,
)
from shared.contract.task_messages import (
    DRAMATIQ_MESSAGE,
    add_task_schemas,
    example_task_message,
    task_message_schema,
)
from shared.lifecycles import TaskPriority
from shared.sending.queue import SEND_MESSAGE_VERSION, SENDER_QUEUE

__all__ = ["DEAD_LETTER_REASON_MAX_LENGTH", "add_task_queues"]


_DEAD_LETTER_HEADERS = "DeadLetterHeaders"
_SEND_REQUEST = "SendRequest"
_SENDER_MESSAGE = "SenderMessage"
_DEAD_LETTER_MESSAGE = "dead_letter"

_PRIORITIES = ", ".join(f"{p.value} {p.broker_priority}" for p in TaskPriority)

_UUID = {
    "type": "string",
    "format": "uuid",
    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
}


def add_task_queues(parts: DocumentParts, *, max_priority: int) -> None:
    """Channels, messages and operations for every agent queue, the sender and their ``.XQ``."""
    schemas = parts.schemas
    add_task_schemas(schemas)
    _add_dead_letter_schemas(parts)
    for agent_type in AgentType:
        queue = agent_type.value
        keys = sorted(TASK_TYPES[agent_type])
        for task_type in keys:
            parts.messages[f"task.{task_type}"] = _task_message(agent_type, task_type)
        _add_queue(
            parts,
            queue,
            max_priority,
            {key: {"$ref": f"#/components/messages/task.{key}"} for key in keys},
            title=f"{queue} agent queue",
            description=(
                f"Tasks for the {queue} worker pool (queue name = canonical agent type). A "
                "message is a Dramatiq message whose single argument is the task envelope; "
                f"broker priority follows the task priority ({_PRIORITIES}). "
                "A message that cannot be parsed or validated is dead-lettered, never retried."
            ),
        )
    _add_sender(parts, max_priority)


def _task_message(agent_type: AgentType, task_type: str) -> dict[str, Any]:
    return {
        "name": task_type,
        "title": f"{task_type} task",
        "summary": f"A {task_type} task for the {agent_type.value} agent.",
        "contentType": "application/json",
        "headers": component_ref(TRACE_HEADERS),
        "payload": component_ref(task_message_schema(task_type)),
        "correlationId": {
            "description": "The task id, chosen by the producer.",
            "location": "$message.payload#/args/0/task_id",
        },
        "examples": [
            {
                "name": f"{task_type}_example",
                "summary": f"A {task_type} task, as another service would publish it.",
                "payload": example_task_message(agent_type, task_type),
            }
        ],
    }


def _add_sender(parts: DocumentParts, max_priority: int) -> None:
    parts.schemas.add(
        _SEND_REQUEST,
        {
            "title": f"send request, schema version {SEND_MESSAGE_VERSION}",
            "description": "Which approved draft's send the sender is to deliver.",
            "type": "object",
            "required": ["schema_version", "tenant_id", "send_id", "dedup_key"],
            "additionalProperties": False,
            "properties": {
                "schema_version": {"const": SEND_MESSAGE_VERSION},
                "tenant_id": _UUID,
                "send_id": _UUID,
                "dedup_key": {"type": "string", "pattern": "^send:"},
            },
        },
    )
    parts.schemas.add(
        _SENDER_MESSAGE,
        {
            "title": "sender message",
            "allOf": [component_ref(DRAMATIQ_MESSAGE)],
            "properties": {
                "queue_name": {"const": SENDER_QUEUE},
                "actor_name": {"const": SENDER_QUEUE},
                "args": {"minItems": 1, "maxItems": 1, "items": component_ref(_SEND_REQUEST)},
                "kwargs": {"maxProperties": 0},
            },
        },
    )
    parts.messages["send"] = {
        "name": "send",
        "title": "send request",
        "summary": "Deliver one approved email (written with its approval, keyed send:{draft_id}).",
        "contentType": "application/json",
        "payload": component_ref(_SENDER_MESSAGE),
    }
    _add_queue(
        parts,
        SENDER_QUEUE,
        max_priority,
        {"send": {"$ref": "#/components/messages/send"}},
        title="sender queue",
        description=(
            "Internal: the sender pool delivers approved email over SMTP, at most once per "
            "draft. Only agentfleet publishes here."
        ),
    )


def _add_queue(
    parts: DocumentParts,
    queue: str,
    max_priority: int,
    messages: dict[str, Any],
    *,
    title: str,
    description: str,
) -> None:
    parts.channels[queue] = {
        "address": queue,
        "title": title,
        "description": description,
        "messages": messages,
        "bindings": queue_binding(queue, queue_arguments(queue, max_priority)),
    }
    refs = [message_ref(queue, key) for key in messages]
    parts.operations[f"{queue}.publish"] = {
        "action": "send",
        "channel": channel_ref(queue),
        "title": f"publish to {queue}",
        "summary": "The outbox relay publishes what a committed transaction wrote, with "
        "publisher confirms.",
        "messages": refs,
        "bindings": send_binding(),
    }
    parts.operations[f"{queue}.consume"] = {
        "action": "receive",
        "channel": channel_ref(queue),
        "title": f"consume {queue}",
        "summary": f"The {queue} worker pool (dramatiq workers.pools.{queue} --queues {queue}).",
        "messages": refs,
        "bindings": receive_binding(),
    }
    _add_dead_letter_queue(parts, queue)


def _add_dead_letter_schemas(parts: DocumentParts) -> None:
    parts.schemas.add(
        _DEAD_LETTER_HEADERS,
        {
            "title": "dead-letter headers",
            "description": (
                "Set by a worker that parks a message it cannot parse or validate. Messages "
                "Dramatiq dead-letters itself (retries spent) carry RabbitMQ's x-death instead."
            ),
            "type": "object",
            "properties": {
                DEAD_LETTER_REASON_HEADER: {
                    "type": "string",
                    "maxLength": DEAD_LETTER_REASON_MAX_LENGTH,
                    "description": "Why the message was parked, naming every problem found.",
                },
                DEAD_LETTER_QUEUE_HEADER: {
                    "type": "string",
                    "description": "The queue the message was taken from.",
                },
            },
        },
    )
    parts.messages[_DEAD_LETTER_MESSAGE] = {
        "name": _DEAD_LETTER_MESSAGE,
        "title": "dead letter",
        "summary": "The original message, unchanged, parked with the reason.",
        "contentType": "application/json",
        "headers": component_ref(_DEAD_LETTER_HEADERS),
        "payload": component_ref(DRAMATIQ_MESSAGE),
    }


def _add_dead_letter_queue(parts: DocumentParts, queue: str) -> None:
    name = xq_name(queue)
    parts.channels[name] = {
        "address": name,
        "title": f"{queue} dead letters",
        "description": (
            f"Messages from {queue} that cannot be parsed or validated, and messages whose "
            "retries are spent; kept for a week."
        ),
        "messages": {
            _DEAD_LETTER_MESSAGE: {"$ref": f"#/components/messages/{_DEAD_LETTER_MESSAGE}"}
        },
        "bindings": queue_binding(name, {"x-message-ttl": DEAD_MESSAGE_TTL}),
    }
    parts.operations[f"{name}.deadLetter"] = {
        "action": "send",
        "channel": channel_ref(name),
        "title": f"dead-letter from {queue}",
        "summary": "A worker parks a message it must not retry, with the reason in a header.",
        "messages": [message_ref(name, _DEAD_LETTER_MESSAGE)],
        "bindings": send_binding(),
    }
