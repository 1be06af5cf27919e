"""Tenant isolation adapters.

On Postgres every transaction of a tenant-scoped unit of work sets ``app.tenant_id``, and the
row-level security policies (forced, for the application role) filter every table by it; API
keys are found through a SECURITY DEFINER function because the tenant is not known yet. SQLite
(embedded mode) has no row-level security: there the tenant filter in every query is the only
wall, and the demo says so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from shared.db.models import ApiKey, Tenant

__all__ = [
    "ApiKeyRecord",
    "PostgresRowLevelSecurity",
    "QueryScopedIsolation",
    "TenantIsolation",
    "isolation_for",
]


@dataclass(frozen=True)
class ApiKeyRecord:
    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID | None
    key_hash: str
    role: str
    expires_at: datetime | None
    revoked_at: datetime | None
    tenant_status: str


class TenantIsolation(Protocol):
    description: str

    def bind(self, session: Session, tenant_id: uuid.UUID) -> None:
        """Scope every transaction of ``session`` to ``tenant_id``."""

    def find_api_key(self, session: Session, prefix: str) -> ApiKeyRecord | None:
        """Look up an API key by its public prefix, before any tenant is known."""


class PostgresRowLevelSecurity:
    description = "Postgres row-level security (forced for the application role)"

    def bind(self, session: Session, tenant_id: uuid.UUID) -> None:
        tenant = str(tenant_id)

        def _set_tenant(_session: Session, _transaction: Any, connection: sa.Connection) -> None:
            connection.execute(
                sa.text("SELECT set_config('app.tenant_id', :tenant, true)"), {"tenant": tenant}
            )

        event.listen(session, "after_begin", _set_tenant)

    def find_api_key(self, session: Session, prefix: str) -> ApiKeyRecord | None:
        row = session.execute(
            sa.text(
                "SELECT id, tenant_id, user_id, key_hash, role, expires_at, revoked_at, "
                "tenant_status FROM agentfleet_find_api_key(:prefix)"
            ),
            {"prefix": prefix},
        ).first()
        return ApiKeyRecord(*row) if row else None


class QueryScopedIsolation:
    description = "tenant filter in every query (SQLite has no row-level security)"

    def bind(self, session: Session, tenant_id: uuid.UUID) -> None:
        return None

    def find_api_key(self, session: Session, prefix: str) -> ApiKeyRecord | None:
        row = session.execute(
            sa.select(
                ApiKey.id,
                ApiKey.tenant_id,
                ApiKey.user_id,
                ApiKey.key_hash,
                ApiKey.role,
                ApiKey.expires_at,
                ApiKey.revoked_at,
                Tenant.status,
            )
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.prefix == prefix)
        ).first()
        return ApiKeyRecord(*row) if row else None


def isolation_for(engine: sa.Engine) -> TenantIsolation:
    if engine.dialect.name == "postgresql":
        return PostgresRowLevelSecurity()
    return QueryScopedIsolation()
