"""The task envelope (contract): decoding, validation against its JSON Schema, and building."""

from __future__ import annotations

import json
import uuid
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field

from shared.agent_types import TASK_TYPES, AgentType, canonical_agent_type
from shared.errors import InvalidMessage
from shared.lifecycles import TaskPriority

__all__ = ["ENVELOPE_SCHEMA_VERSION", "TaskEnvelope", "envelope_schema", "parse_envelope"]

ENVELOPE_SCHEMA_VERSION = 1


class TaskEnvelope(BaseModel):
    """A validated envelope; ``agent_type`` is always canonical."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = ENVELOPE_SCHEMA_VERSION
    task_id: uuid.UUID
    tenant_id: uuid.UUID
    agent_type: AgentType
    task_type: str
    priority: TaskPriority = TaskPriority.MEDIUM
    input: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = None
    trace_id: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@cache
def envelope_schema() -> dict[str, Any]:
    """The envelope's JSON Schema, as shipped in ``shared/schemas``."""
    text = resources.files("shared").joinpath("schemas/task_envelope.v1.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(envelope_schema())


def parse_envelope(raw: object) -> TaskEnvelope:
    """Validate a decoded message argument; raise :class:`InvalidMessage` with a readable reason.

    The reason names every violation (path and message), and the error carries the task and
    tenant ids when they could be read, so the failure can be recorded against the task.
    """
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise InvalidMessage(
                f"envelope is not valid JSON: {exc}", kind="invalid_envelope"
            ) from None
    task_id, tenant_id = _readable_ids(raw)
    errors = sorted(_validator().iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        reason = "; ".join(_describe(error) for error in errors)
        raise InvalidMessage(
            f"envelope fails schema: {reason}",
            task_id=task_id,
            tenant_id=tenant_id,
            kind="invalid_envelope",
        )
    assert isinstance(raw, dict)
    agent_type = canonical_agent_type(raw["agent_type"])
    if raw["task_type"] not in TASK_TYPES[agent_type]:
        supported = ", ".join(sorted(TASK_TYPES[agent_type]))
        raise InvalidMessage(
            f"task type {raw['task_type']!r} is not handled by agent type {agent_type.value!r} "
            f"(supported: {supported})",
            task_id=task_id,
            tenant_id=tenant_id,
            kind="unknown_task_type",
        )
    return TaskEnvelope.model_validate({**raw, "agent_type": agent_type})


def _describe(error: Any) -> str:
    path = "/".join(str(part) for part in error.absolute_path) or "(envelope)"
    if error.validator == "const" and list(error.absolute_path) == ["schema_version"]:
        return (
            f"schema_version: unsupported version {error.instance!r} "
            f"(this worker speaks {ENVELOPE_SCHEMA_VERSION})"
        )
    return f"{path}: {error.message}"


def _readable_ids(raw: object) -> tuple[str | None, str | None]:
    if not isinstance(raw, dict):
        return None, None
    ids: list[str | None] = []
    for name in ("task_id", "tenant_id"):
        value = raw.get(name)
        try:
            ids.append(str(uuid.UUID(str(value))) if value is not None else None)
        except ValueError:
            ids.append(None)
    return ids[0], ids[1]
