"""``agentfleet tenants``: every tenant with its status."""

from __future__ import annotations

import argparse

import sqlalchemy as sa

from services.cli.output import print_json, print_table
from services.cli.runtime import owner_database, settings_or_exit
from shared.db.models import Tenant

__all__ = ["list_tenants"]


def list_tenants(args: argparse.Namespace) -> int:
    with owner_database(settings_or_exit()) as owner, owner.unit_of_work() as uow:
        tenants = uow.session.execute(
            sa.select(
                Tenant.id, Tenant.name, Tenant.slug, Tenant.status, Tenant.created_at
            ).order_by(Tenant.created_at, Tenant.id)
        ).all()
    rows = [
        {
            "id": str(t.id),
            "name": t.name,
            "slug": t.slug,
            "status": t.status,
            "created_at": t.created_at.isoformat(),
        }
        for t in tenants
    ]
    if args.json:
        print_json(rows)
    else:
        print_table(
            ["id", "name", "status", "created"],
            [[r["id"], r["name"], r["status"], r["created_at"][:19]] for r in rows],
        )
    return 0
