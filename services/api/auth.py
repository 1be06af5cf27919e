"""Bearer API-key authentication and permission checks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Depends, Request

from services.api.problems import ProblemError
from shared.api_keys import split_api_key, verify_secret
from shared.db.database import Database
from shared.db.models import TenantStatus
from shared.roles import ROLE_PERMISSIONS, Permission, Role

__all__ = ["Principal", "authenticate", "require"]


@dataclass(frozen=True)
class Principal:
    tenant_id: uuid.UUID
    key_id: uuid.UUID
    user_id: uuid.UUID | None
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "Unauthorized", detail)


def authenticate(request: Request) -> Principal:
    """Resolve the Bearer key to a principal; every failure is the same 401 to the caller."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("missing Bearer API key in the Authorization header")
    parts = split_api_key(token.strip())
    if parts is None:
        raise _unauthorized("malformed API key")
    prefix, secret = parts
    db: Database = request.app.state.db
    with db.unit_of_work() as uow:
        record = db.isolation.find_api_key(uow.session, prefix)
    if record is None or not verify_secret(secret, record.key_hash):
        raise _unauthorized("invalid API key")
    now = datetime.now(UTC)
    if record.revoked_at is not None or (
        record.expires_at is not None and _aware(record.expires_at) <= now
    ):
        raise _unauthorized("API key revoked or expired")
    if record.tenant_status != TenantStatus.ACTIVE:
        raise ProblemError(403, "Forbidden", "tenant is suspended")
    principal = Principal(record.tenant_id, record.id, record.user_id, Role(record.role))
    request.state.principal = principal  # for the request's log line
    return principal


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def require(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency that authenticates and checks one permission (403 when missing)."""

    def _check(principal: Principal = Depends(authenticate)) -> Principal:
        if not principal.can(permission):
            raise ProblemError(
                403,
                "Forbidden",
                f"role {principal.role.value!r} lacks permission {permission.value!r}",
            )
        return principal

    return _check
