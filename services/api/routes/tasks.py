"""``/v1/tasks``: accept a task (row + outbox row in one transaction) and read it back."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from services.api.auth import Principal, require
from services.api.problems import ProblemError, agent_type_or_problem
from services.api.schemas import TaskCreate, TaskOut, TaskPage
from services.api.tracing import trace_id_from
from shared.db.database import Database
from shared.domain.references import check_input_references
from shared.domain.tasks import TaskSubmission, cancel_task, get_task, list_tasks, submit_task
from shared.lifecycles import TaskStatus
from shared.roles import Permission
from shared.task_inputs import validate_task_input

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


@router.post("", status_code=202, response_model=TaskOut)
def create_task(
    body: TaskCreate,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_EXECUTE))],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    traceparent: Annotated[str | None, Header()] = None,
) -> TaskOut:
    if body.tenant_id is not None and body.tenant_id != principal.tenant_id:
        raise ProblemError(422, "Invalid request", "tenant_id does not match the API key's tenant")
    if idempotency_key and body.idempotency_key and idempotency_key != body.idempotency_key:
        raise ProblemError(
            422, "Invalid request", "Idempotency-Key header and body idempotency_key differ"
        )
    agent_type = agent_type_or_problem(body.agent_type)
    parsed_input = validate_task_input(agent_type, body.task_type, body.input)
    submission = TaskSubmission(
        agent_type=agent_type,
        task_type=body.task_type,
        input=parsed_input.model_dump(mode="json", exclude_none=True),
        priority=body.priority,
        task_id=body.task_id,
        idempotency_key=idempotency_key or body.idempotency_key,
        trace_id=trace_id_from(traceparent, body.trace_id),
    )
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        check_input_references(uow, principal.tenant_id, parsed_input)
        task, created = submit_task(uow, principal.tenant_id, submission)
    response.headers["Location"] = f"/v1/tasks/{task.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return TaskOut.of(task)


@router.get("", response_model=TaskPage)
def read_tasks(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_READ))],
    status: TaskStatus | None = None,
    agent_type: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TaskPage:
    """Tasks across agents, e.g. ``?status=pending&agent_type=outreach`` (aliases accepted)."""
    canonical = agent_type_or_problem(agent_type) if agent_type else None
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        tasks, total = list_tasks(
            uow,
            principal.tenant_id,
            agent_type=canonical,
            status=status,
            limit=limit,
            offset=offset,
        )
        return TaskPage(
            items=[TaskOut.of(t) for t in tasks], total=total, limit=limit, offset=offset
        )


@router.get("/{task_id}", response_model=TaskOut)
def read_task(
    task_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_READ))],
) -> TaskOut:
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        return TaskOut.of(get_task(uow, principal.tenant_id, task_id))


@router.post("/{task_id}/cancel", response_model=TaskOut)
def cancel(
    task_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_EXECUTE))],
) -> TaskOut:
    """Cancel a queued or running task (409 once it has finished)."""
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        return TaskOut.of(cancel_task(uow, principal.tenant_id, task_id))
