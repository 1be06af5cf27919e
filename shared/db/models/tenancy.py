"""Tenants, their users and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, TenantOwned, Timestamped, enum_check, new_id
from shared.roles import Role


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Tenant(Timestamped, Base):
    __tablename__ = "tenants"
    __table_args__ = (enum_check("status", TenantStatus),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    status: Mapped[str] = mapped_column(sa.String(20), default=TenantStatus.ACTIVE)
    monthly_budget_usd: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 4))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(Timestamped, TenantOwned, Base):
    __tablename__ = "users"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "email"),
        enum_check("role", Role),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(sa.String(320))
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20), default=Role.SALES_REP)
    is_active: Mapped[bool] = mapped_column(default=True)


class ApiKey(Timestamped, TenantOwned, Base):
    """An API key: only a SHA-256 hash of its secret is stored, looked up by its public prefix."""

    __tablename__ = "api_keys"
    __table_args__ = (enum_check("role", Role),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    role: Mapped[str] = mapped_column(sa.String(20))
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
