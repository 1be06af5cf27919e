"""``agentfleet tasks redispatch``: a fresh outbox dispatch for every task that stopped moving.

Stuck tasks are found across tenants on the owner's connection; each is then locked, checked
again and dispatched in its own tenant's transaction as the application role. A task whose
dispatch still waits in the outbox (a deferral, or a relay that is down) is left alone.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from services.cli.output import CommandError, Progress, format_age, print_json, print_table
from services.cli.runtime import app_database, owner_database, settings_or_exit
from shared.agent_types import canonical_agent_type
from shared.db.base import utcnow
from shared.domain.stuck_tasks import (
    STUCK_STATUSES,
    Redispatch,
    StuckTaskQuery,
    find_stuck_tasks,
    redispatch_stuck_task,
)
from shared.lifecycles import TaskStatus

__all__ = ["redispatch"]


def redispatch(args: argparse.Namespace) -> int:
    try:
        agent_type = canonical_agent_type(args.agent_type) if args.agent_type else None
    except ValueError as exc:
        raise CommandError(str(exc), exit_code=2) from None
    query = StuckTaskQuery(
        now=utcnow(),
        older_than=args.older_than,
        statuses=[TaskStatus(args.status)] if args.status else STUCK_STATUSES,
        agent_type=agent_type,
        tenant_id=args.tenant,
    )
    settings = settings_or_exit()
    if TaskStatus.IN_PROGRESS in query.statuses and args.older_than.total_seconds() < (
        settings.task_time_limit_s
    ):
        print(
            f"warning: --older-than is below the task time limit ({settings.task_time_limit_s}s):"
            " a task still running may be dispatched again and run twice at once",
            file=sys.stderr,
        )
    with owner_database(settings) as owner, owner.unit_of_work() as uow:
        stuck = find_stuck_tasks(uow.session, query, limit=args.limit)
    results: list[dict[str, Any]] = []
    progress = Progress("checked" if args.dry_run else "redispatched", len(stuck))
    with app_database(settings) as db:
        for task in stuck:
            with db.unit_of_work(task.tenant_id) as tenant_uow:
                outcome = redispatch_stuck_task(tenant_uow, task.tenant_id, task.task_id, query)
                if outcome is Redispatch.DISPATCHED and not args.dry_run:
                    tenant_uow.commit()
            results.append(
                {
                    "task_id": str(task.task_id),
                    "tenant_id": str(task.tenant_id),
                    "agent_type": task.agent_type,
                    "task_type": task.task_type,
                    "status": task.status,
                    "idle_s": int((query.now - task.updated_at).total_seconds()),
                    "outcome": _described(outcome, dry_run=args.dry_run),
                }
            )
            progress.step()
    progress.finish()
    _report(args, results)
    return 0


def _described(outcome: Redispatch, *, dry_run: bool) -> str:
    if outcome is Redispatch.DISPATCHED and dry_run:
        return "would_dispatch"
    return outcome.value


def _report(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    if args.json:
        print_json(results)
        return
    print_table(
        ["task id", "tenant id", "agent type", "status", "unchanged for", "outcome"],
        [
            [
                r["task_id"],
                r["tenant_id"],
                r["agent_type"],
                r["status"],
                format_age(r["idle_s"]),
                r["outcome"],
            ]
            for r in results
        ],
    )
    dispatched = sum(r["outcome"] in ("dispatched", "would_dispatch") for r in results)
    verb = "would dispatch" if args.dry_run else "dispatched"
    print(f"{verb} {dispatched} of {len(results)} stuck tasks")
