"""The broker contract in machine-readable form: the event schemas and the AsyncAPI document.

``shared/schemas/events`` holds one JSON Schema per event type (and the envelope);
``shared/schemas/asyncapi.json`` is generated from them, the task envelope schema and the task
input models by ``python -m shared.contract``.
"""

from shared.contract.asyncapi import (
    ASYNCAPI_FILE,
    ASYNCAPI_VERSION,
    build_asyncapi,
    committed_asyncapi,
    render_asyncapi,
)
from shared.contract.event_schemas import (
    EventSchemaError,
    event_problems,
    event_schema,
    event_schema_file,
    validate_event,
)

__all__ = [
    "ASYNCAPI_FILE",
    "ASYNCAPI_VERSION",
    "EventSchemaError",
    "build_asyncapi",
    "committed_asyncapi",
    "event_problems",
    "event_schema",
    "event_schema_file",
    "render_asyncapi",
    "validate_event",
]
