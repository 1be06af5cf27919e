"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.db.models import Task
from shared.lifecycles import TaskPriority


class TaskCreate(BaseModel):
    """The task envelope's fields; ``task_id`` is optional (the server assigns one)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    task_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = Field(
        default=None, description="Optional; must be the API key's tenant when given."
    )
    agent_type: str = Field(min_length=1, max_length=40)
    task_type: str = Field(min_length=1, max_length=60)
    priority: TaskPriority = TaskPriority.MEDIUM
    input: dict[str, Any]
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    trace_id: str | None = Field(default=None, min_length=1, max_length=64)


class TaskOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    agent_id: uuid.UUID | None
    agent_type: str
    task_type: str
    status: str
    priority: str
    trigger: str
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    attempts: int
    items_processed: int
    items_succeeded: int
    items_failed: int
    idempotency_key: str | None
    trace_id: str | None
    created_at: datetime
    updated_at: datetime
    scheduled_at: datetime | None
    """When a held task (a follow-up, a deferred run) is due; None when it runs at once."""
    started_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, task: Task) -> TaskOut:
        return cls.model_validate(task, from_attributes=True)


class TaskPage(BaseModel):
    items: list[TaskOut]
    total: int
    limit: int
    offset: int


class AgentTaskIn(BaseModel):
    """A task for one agent: its type must be one the agent's type handles."""

    model_config = ConfigDict(extra="forbid")

    task_type: str = Field(min_length=1, max_length=60)
    input: dict[str, Any]
    priority: TaskPriority = TaskPriority.MEDIUM
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
