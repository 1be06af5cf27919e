"""The pieces an AsyncAPI section contributes (channels, operations, messages, schemas) and
the AMQP 0-9-1 bindings they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.contract.components import ComponentSchemas

__all__ = [
    "AMQP_BINDING_VERSION",
    "TRACE_HEADERS",
    "TRACE_HEADERS_SCHEMA",
    "DocumentParts",
    "channel_ref",
    "message_ref",
    "queue_binding",
    "receive_binding",
    "send_binding",
]

AMQP_BINDING_VERSION = "0.3.0"
_PERSISTENT = 2

TRACE_HEADERS = "TraceHeaders"
TRACE_HEADERS_SCHEMA: dict[str, Any] = {
    "title": "trace headers",
    "description": "AMQP application headers carrying the trace, when the work has one.",
    "type": "object",
    "properties": {
        "trace_id": {"type": "string", "minLength": 1},
        "traceparent": {
            "type": "string",
            "description": "W3C trace context for this hop.",
            "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        },
    },
}


@dataclass
class DocumentParts:
    """What the sections of the document add up to, keyed as in the AsyncAPI document."""

    schemas: ComponentSchemas = field(default_factory=ComponentSchemas)
    channels: dict[str, Any] = field(default_factory=dict)
    operations: dict[str, Any] = field(default_factory=dict)
    messages: dict[str, Any] = field(default_factory=dict)


def channel_ref(channel: str) -> dict[str, str]:
    return {"$ref": f"#/channels/{channel}"}


def message_ref(channel: str, key: str) -> dict[str, str]:
    """A reference to one of a channel's messages (operations may only name those)."""
    return {"$ref": f"#/channels/{channel}/messages/{key}"}


def queue_binding(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A durable queue, with the arguments it is declared with (RabbitMQ refuses a second
    declaration whose arguments differ, so a consumer declaring it must use exactly these)."""
    return {
        "amqp": {
            "is": "queue",
            "queue": {
                "name": name,
                "durable": True,
                "exclusive": False,
                "autoDelete": False,
                "vhost": "/",
            },
            "x-queue-arguments": arguments,
            "bindingVersion": AMQP_BINDING_VERSION,
        }
    }


def send_binding() -> dict[str, Any]:
    """Persistent, ``mandatory`` publishing (an unroutable message is returned, not dropped)."""
    return {
        "amqp": {
            "deliveryMode": _PERSISTENT,
            "mandatory": True,
            "bindingVersion": AMQP_BINDING_VERSION,
        }
    }


def receive_binding() -> dict[str, Any]:
    """Consumers acknowledge each message after handling it."""
    return {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}}
