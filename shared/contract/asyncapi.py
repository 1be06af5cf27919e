"""The broker contract as an AsyncAPI 3.0 document, generated from the schemas the code uses.

The agent queues carry the task envelope schema and each task type's input model; the events
exchange carries the event schemas. The generated document is committed at
``shared/schemas/asyncapi.json``; ``python -m shared.contract`` writes it again (``--check``
fails when it is out of date).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from shared.contract.event_channel import add_events_exchange
from shared.contract.parts import TRACE_HEADERS, TRACE_HEADERS_SCHEMA, DocumentParts
from shared.contract.task_channels import add_task_queues
from shared.envelope import ENVELOPE_SCHEMA_VERSION
from shared.events import EVENT_SCHEMA_VERSION
from shared.settings import Settings

__all__ = [
    "ASYNCAPI_FILE",
    "ASYNCAPI_VERSION",
    "CONTRACT_VERSION",
    "asyncapi_source_path",
    "build_asyncapi",
    "committed_asyncapi",
    "render_asyncapi",
]

ASYNCAPI_VERSION = "3.0.0"
CONTRACT_VERSION = "1.0.0"
"""The document's own version: a new major with a new task envelope or event schema version."""
ASYNCAPI_FILE = "schemas/asyncapi.json"

_SERVER = "rabbitmq"
_CREDENTIALS = "credentials"


def build_asyncapi() -> dict[str, Any]:
    """The document for a deployment with the default settings (queue priorities, exchange).

    Only the settings' defaults are read, never the environment: the contract is the same
    wherever it is generated.
    """
    fields = Settings.model_fields
    max_priority: int = fields["broker_max_priority"].default
    exchange: str = fields["events_exchange"].default
    parts = DocumentParts()
    parts.schemas.add(TRACE_HEADERS, TRACE_HEADERS_SCHEMA)
    add_task_queues(parts, max_priority=max_priority)
    add_events_exchange(parts, exchange=exchange)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:agentfleet:broker-contract",
        "info": _info(exchange),
        "defaultContentType": "application/json",
        "servers": {_SERVER: _server()},
        "channels": parts.channels,
        "operations": parts.operations,
        "components": {
            "schemas": parts.schemas.render(),
            "messages": parts.messages,
            "securitySchemes": {
                _CREDENTIALS: {
                    "type": "userPassword",
                    "description": "The user and password in the AMQP URL.",
                }
            },
        },
    }


def render_asyncapi() -> str:
    """The document as committed: JSON, two-space indented, one trailing newline."""
    return json.dumps(build_asyncapi(), indent=2, ensure_ascii=False) + "\n"


def committed_asyncapi() -> str:
    """The document shipped with the package."""
    return resources.files("shared").joinpath(ASYNCAPI_FILE).read_text()


def asyncapi_source_path() -> Path:
    """Where the document lives in a source checkout."""
    return Path(__file__).resolve().parents[1] / ASYNCAPI_FILE


def _info(exchange: str) -> dict[str, Any]:
    return {
        "title": "agentfleet broker contract",
        "version": CONTRACT_VERSION,
        "description": (
            "What agentfleet puts on RabbitMQ and takes from it.\n\n"
            "* **Agent queues**, one per canonical agent type: a task message is a Dramatiq "
            "message whose single argument is the task envelope (task envelope schema "
            f"version {ENVELOPE_SCHEMA_VERSION}); its input is validated per task type. Any "
            "service may publish a task straight to a queue.\n"
            "* **Dead-letter queues** (`<queue>.XQ`): messages a worker cannot parse or "
            "validate, with the reason in a header.\n"
            f"* **Events** on the topic exchange `{exchange}` (event schema version "
            f"{EVENT_SCHEMA_VERSION}), routing key = event type, one message per event type.\n\n"
            "Generated from the schemas the code validates with; do not edit by hand."
        ),
        "license": {"name": "Apache-2.0"},
    }


def _server() -> dict[str, Any]:
    return {
        "host": "{host}:{port}",
        "pathname": "/{vhost}",
        "protocol": "amqp",
        "protocolVersion": "0.9.1",
        "title": "RabbitMQ",
        "description": "The broker every agentfleet process connects to (AGENTFLEET_BROKER_URL).",
        "variables": {
            "host": {"default": "127.0.0.1"},
            "port": {"default": "5672"},
            "vhost": {"default": "%2F", "description": "URL-encoded virtual host; / by default."},
        },
        "security": [{"$ref": f"#/components/securitySchemes/{_CREDENTIALS}"}],
    }
