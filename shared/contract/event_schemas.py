"""The JSON Schemas of the events (contract): one file per event type plus the envelope.

They ship in ``shared/schemas/events``. :func:`validate_event` checks a message as published
on ``agentfleet.events`` against the schema of its type, formats included, so a test or a
consumer can hold any event to the contract.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from shared.events import EVENT_SCHEMA_VERSION, EventType

__all__ = [
    "ENVELOPE_FILE",
    "EVENT_SCHEMA_DIR",
    "EventSchemaError",
    "envelope_schema",
    "event_problems",
    "event_schema",
    "event_schema_file",
    "event_schema_files",
    "format_checker",
    "schema_registry",
    "validate_event",
]

EVENT_SCHEMA_DIR = "schemas/events"
ENVELOPE_FILE = f"event_envelope.v{EVENT_SCHEMA_VERSION}.json"

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class EventSchemaError(ValueError):
    """An event that does not match its schema; ``problems`` names every violation."""

    def __init__(self, event_type: object, problems: list[str]) -> None:
        super().__init__(f"event {event_type!r} does not match its schema: {'; '.join(problems)}")
        self.problems = problems


def event_schema_file(event_type: EventType) -> str:
    """The file name of an event type's schema, e.g. ``task.completed.v1.json``."""
    return f"{event_type.value}.v{EVENT_SCHEMA_VERSION}.json"


@cache
def event_schema_files() -> dict[str, dict[str, Any]]:
    """Every schema file shipped in ``shared/schemas/events``, by file name."""
    directory = resources.files("shared").joinpath(EVENT_SCHEMA_DIR)
    documents: dict[str, dict[str, Any]] = {}
    for entry in directory.iterdir():
        if entry.name.endswith(".json"):
            documents[entry.name] = json.loads(entry.read_text())
    return documents


def envelope_schema() -> dict[str, Any]:
    """The event envelope's schema (what every event has in common)."""
    return event_schema_files()[ENVELOPE_FILE]


def event_schema(event_type: EventType) -> dict[str, Any]:
    """The schema of one event type: the envelope with that type's payload."""
    name = event_schema_file(event_type)
    try:
        return event_schema_files()[name]
    except KeyError:
        raise LookupError(f"no schema file {name} for event type {event_type.value!r}") from None


@cache
def schema_registry() -> Registry[Any]:
    """The event schemas by ``$id``, so references between the files resolve offline."""
    resources_by_id: list[tuple[str, Resource[Any]]] = [
        (document["$id"], DRAFT202012.create_resource(document))
        for document in event_schema_files().values()
    ]
    return Registry().with_resources(resources_by_id)


@cache
def format_checker() -> FormatChecker:
    """Asserted formats: jsonschema's own plus an RFC 3339 ``date-time`` check that needs no
    optional package."""
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if _RFC3339.match(value) is None:
            return False
        datetime.fromisoformat(value.upper())
        return True

    return checker


@cache
def _validator(event_type: EventType | None) -> Draft202012Validator:
    schema = envelope_schema() if event_type is None else event_schema(event_type)
    return Draft202012Validator(schema, registry=schema_registry(), format_checker=format_checker())


def event_problems(message: Mapping[str, Any]) -> list[str]:
    """Every way ``message`` breaks the schema of its event type (empty when it conforms).

    A message of an unknown type is checked against the envelope, which names the types.
    """
    name = message.get("event_type")
    known = {event_type.value: event_type for event_type in EventType}
    event_type = known.get(name) if isinstance(name, str) else None
    validator = _validator(event_type)
    errors = sorted(validator.iter_errors(message), key=lambda e: list(e.absolute_path))
    problems = []
    for error in errors:
        path = "/".join(str(part) for part in error.absolute_path) or "(event)"
        detail = "; ".join(sub.message for sub in error.context[:3]) if error.context else ""
        problems.append(f"{path}: {error.message}" + (f" ({detail})" if detail else ""))
    return problems


def validate_event(message: Mapping[str, Any]) -> None:
    """Raise :class:`EventSchemaError` unless ``message`` conforms to its type's schema."""
    problems = event_problems(message)
    if problems:
        raise EventSchemaError(message.get("event_type"), problems)
