"""Task messages on the agent queues, as schemas: a Dramatiq message whose one argument is the
task envelope, with the input model of its task type.

The envelope schema is the file the workers validate against; each input schema is the JSON
Schema of the pydantic model the API and the workers validate the input with.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from shared.agent_types import TASK_TYPES, AgentType, canonical_agent_type
from shared.contract.components import ComponentSchemas, component_ref
from shared.envelope import ENVELOPE_SCHEMA_VERSION, envelope_schema
from shared.task_inputs import INPUT_MODELS

__all__ = [
    "DRAMATIQ_MESSAGE",
    "EXAMPLE_INPUTS",
    "TASK_ENVELOPE",
    "TASK_INPUT_MODELS",
    "add_task_schemas",
    "agent_type_names",
    "example_task_message",
    "task_message_schema",
]

TASK_ENVELOPE = "TaskEnvelope"
DRAMATIQ_MESSAGE = "DramatiqMessage"

TASK_INPUT_MODELS: Mapping[str, type[BaseModel]] = INPUT_MODELS
"""The input model of each task type (what ``validate_task_input`` checks the input with)."""


def _example_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:agentfleet:example:{name}"))


EXAMPLE_INPUTS: Mapping[str, dict[str, Any]] = {
    "source_leads": {
        "icp": {"industries": ["logistics"], "employee_ranges": ["51,500"]},
        "max_pages": 2,
        "per_page": 25,
        "run_pipeline": True,
    },
    "enrich_account": {"account_id": _example_id("account")},
    "find_contacts": {"account_id": _example_id("account")},
    "score_records": {"account_id": _example_id("account")},
    "draft_outreach": {
        "contact_id": _example_id("contact"),
        "opportunity_id": _example_id("opportunity"),
        "channel": "email",
        "tone": "friendly",
    },
    "draft_followup": {"draft_id": _example_id("draft"), "attempt": 1},
    "classify_reply": {"reply_id": _example_id("reply")},
}

_DRAMATIQ_MESSAGE_SCHEMA: dict[str, Any] = {
    "title": "Dramatiq message",
    "description": (
        "Dramatiq's wire format (JSON). Dramatiq adds its own options on retries (retries, "
        "traceback, eta); the relay sets broker_priority so a retry keeps the task's priority."
    ),
    "type": "object",
    "required": ["queue_name", "actor_name", "args", "kwargs", "options"],
    "additionalProperties": False,
    "properties": {
        "queue_name": {"type": "string", "minLength": 1},
        "actor_name": {"type": "string", "minLength": 1},
        "args": {"type": "array"},
        "kwargs": {"type": "object"},
        "options": {
            "type": "object",
            "properties": {"broker_priority": {"type": "integer", "minimum": 0, "maximum": 255}},
        },
        "message_id": {
            "type": "string",
            "minLength": 1,
            "description": "Unique per message; Dramatiq makes one up when it is missing.",
        },
        "message_timestamp": {
            "type": "integer",
            "minimum": 0,
            "description": "When the message was first enqueued, in milliseconds since the epoch.",
        },
    },
}


def agent_type_names(agent_type: AgentType) -> list[str]:
    """The names an envelope may give ``agent_type``: canonical first, then its aliases."""
    names: list[str] = envelope_schema()["properties"]["agent_type"]["enum"]
    aliases = [n for n in names if n != agent_type.value and canonical_agent_type(n) is agent_type]
    return [agent_type.value, *aliases]


def task_message_schema(task_type: str) -> str:
    """The component name of the whole message (Dramatiq message and envelope) of a task type."""
    return f"TaskMessage.{task_type}"


def add_task_schemas(schemas: ComponentSchemas) -> None:
    """The envelope, every input model and, per task type, its envelope and its message."""
    if set(TASK_INPUT_MODELS) != {t for types in TASK_TYPES.values() for t in types}:
        raise ValueError("TASK_INPUT_MODELS must name the input model of every task type")
    schemas.add_document(TASK_ENVELOPE, envelope_schema(), defs_prefix=f"{TASK_ENVELOPE}.")
    schemas.add(DRAMATIQ_MESSAGE, _DRAMATIQ_MESSAGE_SCHEMA)
    for agent_type in AgentType:
        for task_type in sorted(TASK_TYPES[agent_type]):
            model = TASK_INPUT_MODELS[task_type]
            input_name = schemas.add_document(
                f"TaskInput.{model.__name__}",
                model.model_json_schema(),
                defs_prefix="TaskInput.",
            )
            schemas.add(
                f"{TASK_ENVELOPE}.{task_type}",
                {
                    "title": f"{task_type} task envelope",
                    "allOf": [component_ref(TASK_ENVELOPE)],
                    "properties": {
                        "agent_type": {"enum": agent_type_names(agent_type)},
                        "task_type": {"const": task_type},
                        "input": component_ref(input_name),
                    },
                },
            )
            schemas.add(
                task_message_schema(task_type),
                {
                    "title": f"{task_type} task message",
                    "allOf": [component_ref(DRAMATIQ_MESSAGE)],
                    "properties": {
                        "queue_name": {"const": agent_type.value},
                        "actor_name": {"const": agent_type.value},
                        "args": {
                            "minItems": 1,
                            "maxItems": 1,
                            "items": component_ref(f"{TASK_ENVELOPE}.{task_type}"),
                        },
                        "kwargs": {"maxProperties": 0},
                    },
                },
            )


def example_task_message(agent_type: AgentType, task_type: str) -> dict[str, Any]:
    """A complete task message for ``task_type``, as a producer would publish it."""
    task_id = _example_id(f"task:{task_type}")
    envelope = {
        "schema_version": ENVELOPE_SCHEMA_VERSION,
        "task_id": task_id,
        "tenant_id": _example_id("tenant"),
        "agent_type": agent_type.value,
        "task_type": task_type,
        "priority": "high",
        "input": EXAMPLE_INPUTS[task_type],
        "idempotency_key": f"example-{task_type}",
        "trace_id": uuid.uuid5(uuid.NAMESPACE_URL, f"urn:agentfleet:example:trace:{task_type}").hex,
    }
    return {
        "queue_name": agent_type.value,
        "actor_name": agent_type.value,
        "args": [envelope],
        "kwargs": {},
        "options": {"broker_priority": 3},
        "message_id": task_id,
        "message_timestamp": 1_790_000_000_000,
    }
