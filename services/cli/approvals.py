"""``agentfleet approvals list|approve|reject``: the review queue of one tenant, decided through
the same domain functions as ``/v1/approvals`` (the reviewer recorded as ``cli``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.cli.output import CommandError, format_age, print_json, print_table
from services.cli.runtime import app_database, require_tenant, settings_or_exit
from shared.agent_types import canonical_agent_type
from shared.db.base import utcnow
from shared.db.models import ApprovalItem
from shared.domain.approval_edits import ContentEdit, EditInvalid
from shared.domain.approval_queries import ApprovalFilters, list_items
from shared.domain.approvals import Decision, Reviewer, approve_item, reject_item
from shared.errors import Conflict, NotFound

__all__ = ["CLI_REVIEWER", "approve", "list_pending", "reject"]


@dataclass(frozen=True)
class _NamedReviewer(Reviewer):
    """A reviewer with no API key or user behind it, known by name in activity and events."""

    name: str = "cli"

    @property
    def actor_id(self) -> str | None:
        return self.name


CLI_REVIEWER: Reviewer = _NamedReviewer(key_id=None, user_id=None)


def list_pending(args: argparse.Namespace) -> int:
    try:
        agent_type = canonical_agent_type(args.agent_type) if args.agent_type else None
    except ValueError as exc:
        raise CommandError(str(exc), exit_code=2) from None
    now = utcnow()
    with app_database(settings_or_exit()) as db:
        require_tenant(db, args.tenant)
        with db.unit_of_work(args.tenant) as uow:
            items, total = list_items(
                uow, args.tenant, ApprovalFilters(agent_type=agent_type), limit=args.limit
            )
            rows = [_row(item, (now - item.created_at).total_seconds()) for item in items]
    if args.json:
        print_json({"items": rows, "total": total})
        return 0
    print_table(
        ["id", "agent type", "item type", "priority", "age", "subject"],
        [
            [
                r["id"],
                r["agent_type"],
                r["item_type"],
                r["priority"],
                format_age(r["age_s"]),
                _shorten(r["subject"]) + (" [stale]" if r["stale"] else ""),
            ]
            for r in rows
        ],
    )
    if total > len(rows):
        print(f"({len(rows)} of {total} pending; raise --limit for more)")
    return 0


def approve(args: argparse.Namespace) -> int:
    edit = None
    if args.subject is not None or args.body is not None:
        edit = ContentEdit(subject=args.subject, body=args.body)
    settings = settings_or_exit()
    with app_database(settings) as db:
        require_tenant(db, args.tenant)
        with db.unit_of_work(args.tenant) as uow:
            decision = _decided(
                lambda: approve_item(
                    uow,
                    args.tenant,
                    args.item_id,
                    CLI_REVIEWER,
                    edit=edit,
                    seen_version=args.version,
                    platform_from=settings.mail_from,
                    guidance_window=settings.reviewer_guidance_window,
                )
            )
    _report(args, decision)
    return 0


def reject(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    with app_database(settings) as db:
        require_tenant(db, args.tenant)
        with db.unit_of_work(args.tenant) as uow:
            decision = _decided(
                lambda: reject_item(
                    uow,
                    args.tenant,
                    args.item_id,
                    CLI_REVIEWER,
                    args.reason,
                    seen_version=args.version,
                    guidance_window=settings.reviewer_guidance_window,
                )
            )
    _report(args, decision)
    return 0


def _decided(decide: Callable[[], Decision]) -> Decision:
    """Run a decision; what stops it (unknown item, decided, expired, stale, changed, a bad
    edit) becomes a CommandError with the domain's own words."""
    try:
        decision = decide()
    except NotFound as exc:
        raise CommandError(str(exc), exit_code=2) from None
    except (Conflict, EditInvalid) as exc:
        raise CommandError(str(exc)) from None
    return decision


def _report(args: argparse.Namespace, decision: Decision) -> None:
    item, send = decision.item, decision.send
    if args.json:
        print_json(
            {
                "id": str(item.id),
                "status": item.status,
                "send_id": str(send.id) if send else None,
                "send_status": send.status if send else None,
            }
        )
        return
    print(f"approval item {item.id}: {item.status}")
    if send is not None:
        print(f"send {send.id}: {send.status}")


def _row(item: ApprovalItem, age_s: float) -> dict[str, Any]:
    content = item.content or {}
    return {
        "id": str(item.id),
        "agent_type": item.agent_type,
        "item_type": item.item_type,
        "priority": item.priority,
        "age_s": int(age_s),
        "subject": content.get("subject") or item.title,
        "title": item.title,
        "stale": item.stale_at is not None,
        "expires_at": item.expires_at.isoformat() if item.expires_at else None,
        "version": item.version,
        "task_id": str(item.task_id) if item.task_id else None,
    }


def _shorten(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
