"""Per-task-type input models, used by the API (422 on bad input) and the workers alike."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.agent_types import TASK_TYPES, AgentType
from shared.db.models import Channel

__all__ = ["DraftOutreachInput", "InputInvalid", "validate_task_input"]


class DraftOutreachInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    contact_id: uuid.UUID
    opportunity_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    channel: Channel = Channel.EMAIL
    tone: str = Field(default="professional", pattern="^(professional|friendly|casual)$")
    max_words: int = Field(default=150, ge=30, le=400)


_INPUT_MODELS: dict[str, type[BaseModel]] = {"draft_outreach": DraftOutreachInput}


class InputInvalid(ValueError):
    """The task input does not fit its task type; ``errors`` lists each problem."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


def validate_task_input(agent_type: AgentType, task_type: str, raw: dict[str, Any]) -> BaseModel:
    """Validate ``raw`` against the model of ``task_type``; raise :class:`InputInvalid`."""
    if task_type not in TASK_TYPES[agent_type]:
        supported = ", ".join(sorted(TASK_TYPES[agent_type]))
        raise InputInvalid(
            f"task type {task_type!r} is not handled by agent type {agent_type.value!r} "
            f"(supported: {supported})"
        )
    model = _INPUT_MODELS.get(task_type)
    if model is None:
        raise InputInvalid(f"task type {task_type!r} is not available in this release")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in err["loc"]) or "input", "message": err["msg"]}
            for err in exc.errors()
        ]
        summary = "; ".join(f"input.{e['field']}: {e['message']}" for e in errors)
        raise InputInvalid(f"invalid input for {task_type}: {summary}", errors) from None
