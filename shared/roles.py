"""Roles and the permissions each grants (the seeds' permission set)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ROLE_PERMISSIONS", "Permission", "Role"]


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    SALES_REP = "sales_rep"
    VIEWER = "viewer"


class Permission(StrEnum):
    AGENTS_READ = "agents:read"
    AGENTS_WRITE = "agents:write"
    AGENTS_EXECUTE = "agents:execute"
    AGENTS_DELETE = "agents:delete"
    APPROVALS_READ = "approvals:read"
    APPROVALS_WRITE = "approvals:write"
    INTEGRATIONS_READ = "integrations:read"
    INTEGRATIONS_WRITE = "integrations:write"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MANAGER: frozenset(Permission) - {Permission.AGENTS_DELETE},
    Role.SALES_REP: frozenset(
        {
            Permission.AGENTS_READ,
            Permission.AGENTS_EXECUTE,
            Permission.APPROVALS_READ,
            Permission.APPROVALS_WRITE,
            Permission.INTEGRATIONS_READ,
        }
    ),
    Role.VIEWER: frozenset(
        {Permission.AGENTS_READ, Permission.APPROVALS_READ, Permission.INTEGRATIONS_READ}
    ),
}
