"""The operations commands' arguments: tenants, submit, queues, approvals, dead letters, stuck
tasks and usage. Each command's work lives in its own module, imported when it runs."""

from __future__ import annotations

import argparse
import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from importlib import import_module
from typing import Any

from shared.lifecycles import TaskPriority, TaskStatus

__all__ = ["add_ops_commands", "day", "duration"]

Subparsers = Any
"""``argparse._SubParsersAction``, whose type is private."""

Runner = Callable[[argparse.Namespace], int]

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _runs(module: str, function: str) -> Runner:
    """The command ``services.cli.<module>.<function>``, imported only when it runs."""

    def run(args: argparse.Namespace) -> int:
        command: Runner = getattr(import_module(f"services.cli.{module}"), function)
        return command(args)

    return run


def duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h`` or ``1d``."""
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if match is None or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90s, 15m, 2h or 1d")
    return timedelta(seconds=int(match.group(1)) * _SECONDS[match.group(2)])


def day(text: str) -> date:
    """``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _tenant(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--tenant", type=uuid.UUID, required=required, help="the tenant's id")


def add_ops_commands(commands: Subparsers) -> None:
    tenants = commands.add_parser("tenants", help="list tenants with their status")
    _json(tenants)
    tenants.set_defaults(run=_runs("tenants", "list_tenants"))

    _add_submit(commands)

    queues = commands.add_parser(
        "queues", help="queue depths and consumers, and tasks in flight per agent type"
    )
    _json(queues)
    queues.set_defaults(run=_runs("queues", "show_queues"))

    _add_approvals(commands)
    _add_dead_letters(commands)
    _add_tasks(commands)
    _add_usage(commands)


def _add_submit(commands: Subparsers) -> None:
    submit = commands.add_parser(
        "submit", help="accept a task as POST /v1/tasks does (dispatched through the outbox)"
    )
    _tenant(submit)
    submit.add_argument("--agent-type", required=True, help="an agent type or an alias")
    submit.add_argument("--task-type", required=True)
    submit.add_argument("--input", required=True, help="the task input as a JSON object")
    submit.add_argument(
        "--priority", choices=[p.value for p in TaskPriority], default=TaskPriority.MEDIUM.value
    )
    submit.add_argument("--agent-id", type=uuid.UUID, help="the agent to run it (input.agent_id)")
    submit.add_argument("--idempotency-key", help="same key and tenant = same task")
    _json(submit)
    submit.set_defaults(run=_runs("submit", "submit"))


def _add_approvals(commands: Subparsers) -> None:
    approvals = commands.add_parser("approvals", help="a tenant's approval queue")
    actions = approvals.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", help="pending items, urgent first, then newest")
    _tenant(listing)
    listing.add_argument("--agent-type", help="only this agent type (or alias)")
    listing.add_argument("--limit", type=int, default=50)
    _json(listing)
    listing.set_defaults(run=_runs("approvals", "list_pending"))

    approve = actions.add_parser("approve", help="approve a pending item (optionally edited)")
    _tenant(approve)
    approve.add_argument("item_id", type=uuid.UUID)
    approve.add_argument("--subject", help="edited subject (files the item as edited)")
    approve.add_argument("--body", help="edited body (files the item as edited)")
    approve.add_argument("--version", type=int, help="the item version you reviewed")
    _json(approve)
    approve.set_defaults(run=_runs("approvals", "approve"))

    reject = actions.add_parser("reject", help="reject a pending item with a reason")
    _tenant(reject)
    reject.add_argument("item_id", type=uuid.UUID)
    reject.add_argument("--reason", required=True)
    reject.add_argument("--version", type=int, help="the item version you reviewed")
    _json(reject)
    reject.set_defaults(run=_runs("approvals", "reject"))


def _add_dead_letters(commands: Subparsers) -> None:
    dead_letters = commands.add_parser("dead-letters", help="messages parked on the .XQ queues")
    actions = dead_letters.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", help="read dead letters without removing them")
    listing.add_argument("--queue", help="one work queue (default: all of them)")
    listing.add_argument("--limit", type=int, default=100)
    _json(listing)
    listing.set_defaults(run=_runs("dead_letters", "list_dead_letters"))

    replay = actions.add_parser(
        "replay",
        help="dispatch dead-lettered tasks again through the outbox (exit 1 if any is left)",
    )
    replay.add_argument("--queue", help="one work queue (default: all of them)")
    chosen = replay.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--message-id", action="append", help="a message to replay (repeatable)")
    chosen.add_argument("--all", action="store_true", help="every message on the queues")
    _json(replay)
    replay.set_defaults(run=_runs("dead_letters", "replay_dead_letters"))


def _add_tasks(commands: Subparsers) -> None:
    tasks = commands.add_parser("tasks", help="task maintenance")
    actions = tasks.add_subparsers(dest="action", required=True)
    redispatch = actions.add_parser(
        "redispatch",
        help="dispatch stuck tasks again (pending and due, or in progress, unchanged too long)",
    )
    redispatch.add_argument("--older-than", type=duration, default=timedelta(minutes=15))
    redispatch.add_argument("--agent-type", help="only this agent type (or alias)")
    redispatch.add_argument(
        "--status", choices=[TaskStatus.PENDING.value, TaskStatus.IN_PROGRESS.value]
    )
    _tenant(redispatch, required=False)
    redispatch.add_argument("--limit", type=int, default=1000, help="at most this many tasks")
    redispatch.add_argument("--dry-run", action="store_true", help="show, dispatch nothing")
    _json(redispatch)
    redispatch.set_defaults(run=_runs("tasks", "redispatch"))


def _add_usage(commands: Subparsers) -> None:
    usage = commands.add_parser(
        "usage", help="provider calls, tokens, credits and cost per tenant, agent and model"
    )
    _tenant(usage, required=False)
    usage.add_argument("--from", dest="start", type=day, help="first day (default: 1st of month)")
    usage.add_argument("--to", type=day, help="last day, inclusive (default: today)")
    _json(usage)
    usage.set_defaults(run=_runs("usage", "show_usage"))
