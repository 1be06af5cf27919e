"""``agentfleet submit``: accept a task as ``POST /v1/tasks`` does (task row, event and outbox
dispatch in one transaction; the relay publishes it)."""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any

from services.cli.output import CommandError, print_json
from services.cli.runtime import app_database, require_tenant, settings_or_exit
from shared.agent_types import canonical_agent_type
from shared.domain.references import check_input_references
from shared.domain.tasks import TaskSubmission, submit_task
from shared.errors import Conflict
from shared.lifecycles import TaskPriority, TaskTrigger
from shared.task_inputs import InputInvalid, validate_task_input

__all__ = ["submit"]


def submit(args: argparse.Namespace) -> int:
    try:
        agent_type = canonical_agent_type(args.agent_type)
    except ValueError as exc:
        raise CommandError(str(exc), exit_code=2) from None
    raw_input = _input_object(args.input, args.agent_id)
    try:
        parsed = validate_task_input(agent_type, args.task_type, raw_input)
    except InputInvalid as exc:
        raise CommandError(str(exc), exit_code=2) from None
    submission = TaskSubmission(
        agent_type=agent_type,
        task_type=args.task_type,
        input=parsed.model_dump(mode="json", exclude_none=True),
        priority=TaskPriority(args.priority),
        idempotency_key=args.idempotency_key,
        trigger=TaskTrigger.MANUAL,
    )
    with app_database(settings_or_exit()) as db:
        require_tenant(db, args.tenant)
        with db.unit_of_work(args.tenant) as uow:
            try:
                check_input_references(uow, args.tenant, parsed)
                task, created = submit_task(uow, args.tenant, submission)
            except InputInvalid as exc:
                raise CommandError(str(exc), exit_code=2) from None
            except Conflict as exc:
                raise CommandError(str(exc)) from None
    if args.json:
        print_json({"task_id": str(task.id), "status": task.status, "created": created})
    else:
        note = "" if created else "   (already accepted with this idempotency key)"
        print(f"task_id: {task.id}")
        print(f"status:  {task.status}{note}")
    return 0


def _input_object(text: str, agent_id: uuid.UUID | None) -> dict[str, Any]:
    """``--input`` as a JSON object, naming ``--agent-id`` when given."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CommandError(f"--input is not valid JSON: {exc}", exit_code=2) from None
    if not isinstance(value, dict):
        raise CommandError("--input must be a JSON object", exit_code=2)
    if agent_id is not None:
        named = value.get("agent_id")
        if named is not None and str(named) != str(agent_id):
            raise CommandError(
                f"--agent-id {agent_id} differs from the input's agent_id {named}", exit_code=2
            )
        value["agent_id"] = str(agent_id)
    return value
