"""``agentfleet queues``: what waits on the broker (every work queue with its ``.DQ`` and
``.XQ``) and what is in flight in Postgres (pending and running tasks per agent type)."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.cli.broker import broker_connection, queue_depths
from services.cli.output import format_age, print_json, print_table
from services.cli.runtime import owner_database, settings_or_exit
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import Task
from shared.lifecycles import TaskStatus
from shared.metrics.queue_depth import QueueDepths, fleet_queue_names

__all__ = ["show_queues"]


@dataclass(frozen=True)
class InFlight:
    agent_type: str
    pending: int
    held: int
    """Pending tasks due later (quota windows, follow-ups): the scheduler dispatches them."""
    in_progress: int
    oldest_in_progress_age_s: int | None


def show_queues(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    names = fleet_queue_names()
    with broker_connection(settings.broker_url) as connection:
        depths = queue_depths(connection, names)
    states = [_queue_state(name, depths) for name in names]
    with owner_database(settings) as owner:
        in_flight = _in_flight(owner)
    if args.json:
        print_json({"queues": states, "tasks": [asdict(f) for f in in_flight]})
        return 0
    print_table(
        ["queue", "messages", "consumers"],
        [
            [s["name"], s["messages"], s["consumers"]]
            if s["exists"]
            else [s["name"], "absent", None]
            for s in states
        ],
    )
    print()
    print_table(
        ["agent type", "pending", "of which held", "in progress", "oldest in progress"],
        [
            [f.agent_type, f.pending, f.held, f.in_progress, format_age(f.oldest_in_progress_age_s)]
            for f in in_flight
        ],
    )
    return 0


def _queue_state(name: str, depths: QueueDepths) -> dict[str, Any]:
    messages, consumers = depths.get(name, (None, None))
    return {"name": name, "exists": name in depths, "messages": messages, "consumers": consumers}


def _in_flight(owner: Database) -> list[InFlight]:
    """Counts across tenants, in one grouped query over the unfinished tasks."""
    now = utcnow()
    pending = Task.status == TaskStatus.PENDING.value
    running = Task.status == TaskStatus.IN_PROGRESS.value
    with owner.unit_of_work() as uow:
        rows = uow.session.execute(
            sa.select(
                Task.agent_type,
                sa.func.count().filter(pending),
                sa.func.count().filter(pending, Task.scheduled_at > now),
                sa.func.count().filter(running),
                sa.func.min(sa.func.coalesce(Task.started_at, Task.updated_at)).filter(running),
            )
            .where(sa.or_(pending, running))
            .group_by(Task.agent_type)
            .order_by(Task.agent_type)
        ).all()
    return [
        InFlight(agent_type, total, held, in_progress, _age_s(now, oldest))
        for agent_type, total, held, in_progress, oldest in rows
    ]


def _age_s(now: datetime, since: datetime | None) -> int | None:
    return None if since is None else max(0, int((now - since).total_seconds()))
