"""The events exchange of the broker contract: one message per event type, each the envelope
with that type's payload schema, published with the event type as routing key."""

from __future__ import annotations

from typing import Any

from shared.broker.topology import UNROUTED_TTL_MS, unrouted_name
from shared.contract.components import component_ref
from shared.contract.event_schemas import envelope_schema, event_schema
from shared.contract.parts import (
    AMQP_BINDING_VERSION,
    TRACE_HEADERS,
    DocumentParts,
    channel_ref,
    message_ref,
    send_binding,
)
from shared.events import EventType

__all__ = ["EVENTS_CHANNEL", "EVENT_ENVELOPE", "add_events_exchange", "event_schema_component"]

EVENTS_CHANNEL = "events"
EVENT_ENVELOPE = "EventEnvelope"
_ROUTING_PARAMETER = "eventType"


def event_schema_component(event_type: EventType) -> str:
    """The component name of an event type's schema (envelope and payload)."""
    return f"Event.{event_type.value}"


def _event_message_key(event_type: EventType) -> str:
    return f"event.{event_type.value}"


def add_events_exchange(parts: DocumentParts, *, exchange: str) -> None:
    """The topic exchange ``exchange`` as one channel whose address is the routing key."""
    schemas = parts.schemas
    schemas.add_document(EVENT_ENVELOPE, envelope_schema(), defs_prefix=f"{EVENT_ENVELOPE}.")
    for event_type in EventType:
        name = event_schema_component(event_type)
        schemas.add_document(name, event_schema(event_type), defs_prefix=f"{name}.")
        parts.messages[_event_message_key(event_type)] = _event_message(event_type)
    parts.channels[EVENTS_CHANNEL] = {
        "address": f"{{{_ROUTING_PARAMETER}}}",
        "title": f"{exchange} topic exchange",
        "description": _exchange_description(exchange),
        "parameters": {
            _ROUTING_PARAMETER: {
                "description": "The routing key: the event type.",
                "enum": [event_type.value for event_type in EventType],
                "location": "$message.payload#/event_type",
            }
        },
        "messages": {
            event_type.value: {"$ref": f"#/components/messages/{_event_message_key(event_type)}"}
            for event_type in EventType
        },
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": exchange,
                    "type": "topic",
                    "durable": True,
                    "autoDelete": False,
                    "vhost": "/",
                },
                "x-exchange-arguments": {"alternate-exchange": unrouted_name(exchange)},
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }
    parts.operations[f"{EVENTS_CHANNEL}.publish"] = {
        "action": "send",
        "channel": channel_ref(EVENTS_CHANNEL),
        "title": "publish events",
        "summary": "The outbox relay publishes every event a committed transaction recorded, "
        "with publisher confirms; consumers deduplicate on event_id.",
        "messages": [message_ref(EVENTS_CHANNEL, event_type.value) for event_type in EventType],
        "bindings": send_binding(),
    }


def _event_message(event_type: EventType) -> dict[str, Any]:
    schema = event_schema(event_type)
    return {
        "name": event_type.value,
        "title": event_type.value,
        "summary": schema["description"],
        "contentType": "application/json",
        "headers": component_ref(TRACE_HEADERS),
        "payload": component_ref(event_schema_component(event_type)),
        "correlationId": {
            "description": "The trace of the request or task that caused the event.",
            "location": "$message.payload#/trace_id",
        },
        "bindings": {
            "amqp": {"messageType": event_type.value, "bindingVersion": AMQP_BINDING_VERSION}
        },
    }


def _exchange_description(exchange: str) -> str:
    days = UNROUTED_TTL_MS // (24 * 60 * 60 * 1000)
    return (
        f"Every state change is published to the topic exchange {exchange} with the event "
        "type as routing key, as a persistent JSON message whose message_id is the event id "
        "and whose type property is the event type. Delivery is at least once: deduplicate "
        "on event_id. Bind a queue of your own (e.g. with task.* or #); do not redeclare the "
        f"exchange: it carries alternate-exchange {unrouted_name(exchange)}, a fanout whose "
        f"queue keeps events nobody subscribed to for {days} days."
    )
