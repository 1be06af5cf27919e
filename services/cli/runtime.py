"""What the ops commands share: the settings, the two database handles, and tenant checks.

The application role (row-level security) does every tenant-scoped read and write, as the API
does; the schema owner's connection only reads across tenants (the tenant list, stuck tasks,
in-flight counts), which the owner's read policies allow.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from services.cli.output import CommandError
from shared.db.database import Database, open_database
from shared.db.models import Tenant, TenantStatus
from shared.settings import Settings, get_settings

__all__ = [
    "app_database",
    "owner_database",
    "require_tenant",
    "settings_or_exit",
    "tenant_ids",
]


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:
        print(f"agentfleet: invalid configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


@contextmanager
def app_database(settings: Settings) -> Iterator[Database]:
    """The application role's handle: every query runs in one tenant's scope."""
    db = open_database(settings.database_url, pool_size=1)
    try:
        yield db
    finally:
        db.dispose()


@contextmanager
def owner_database(settings: Settings) -> Iterator[Database]:
    """The schema owner's handle, for reads across tenants."""
    db = open_database(settings.migration_url(), pool_size=1)
    try:
        yield db
    finally:
        db.dispose()


def require_tenant(db: Database, tenant_id: uuid.UUID, *, active: bool = True) -> None:
    """CommandError (exit 2) unless the tenant exists (and, by default, is active)."""
    with db.unit_of_work(tenant_id) as uow:
        status = uow.session.scalar(sa.select(Tenant.status).where(Tenant.id == tenant_id))
    if status is None:
        raise CommandError(f"tenant {tenant_id} not found", exit_code=2)
    if active and status != TenantStatus.ACTIVE.value:
        raise CommandError(f"tenant {tenant_id} is {status}", exit_code=2)


def tenant_ids(owner: Database) -> list[uuid.UUID]:
    """Every tenant's id, oldest first."""
    with owner.unit_of_work() as uow:
        return list(
            uow.session.scalars(sa.select(Tenant.id).order_by(Tenant.created_at, Tenant.id))
        )
