"""``/v1/agents/{id}/tasks``: assign work to one agent and list its runs."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from services.api.auth import Principal, require
from services.api.schemas import AgentTaskIn, TaskOut, TaskPage
from services.api.tracing import trace_id_from
from shared.agents.assignment import assign_task
from shared.agents.service import get_agent
from shared.db.database import Database
from shared.domain.tasks import list_tasks
from shared.lifecycles import TaskStatus
from shared.roles import Permission

router = APIRouter(prefix="/v1/agents", tags=["agents"])


@router.post("/{agent_id}/tasks", status_code=202, response_model=TaskOut)
def assign(
    agent_id: uuid.UUID,
    body: AgentTaskIn,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_EXECUTE))],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    traceparent: Annotated[str | None, Header()] = None,
) -> TaskOut:
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        task, created = assign_task(
            uow,
            principal.tenant_id,
            agent_id,
            task_type=body.task_type,
            raw_input=body.input,
            priority=body.priority,
            idempotency_key=idempotency_key or body.idempotency_key,
            trace_id=trace_id_from(traceparent),
        )
    response.headers["Location"] = f"/v1/tasks/{task.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return TaskOut.of(task)


@router.get("/{agent_id}/tasks", response_model=TaskPage)
def agent_tasks(
    agent_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_READ))],
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TaskPage:
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        get_agent(uow, principal.tenant_id, agent_id)
        tasks, total = list_tasks(
            uow, principal.tenant_id, agent_id=agent_id, status=status, limit=limit, offset=offset
        )
        return TaskPage(
            items=[TaskOut.of(t) for t in tasks], total=total, limit=limit, offset=offset
        )
