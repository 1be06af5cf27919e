"""Declarative base, portable column types and helpers shared by every model."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

__all__ = [
    "Base",
    "JSONType",
    "TenantOwned",
    "Timestamped",
    "UtcDateTime",
    "enum_check",
    "new_id",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on Postgres (indexable, compact), plain JSON text elsewhere.
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite hands back naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (read by SQLAlchemy at class creation)
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        datetime: UtcDateTime(),
        uuid.UUID: sa.Uuid(),
    }


def enum_check(column: str, values: type[StrEnum], name: str | None = None) -> sa.CheckConstraint:
    """A CHECK constraint limiting ``column`` to the members of ``values``."""
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=name or f"{column}_valid")


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        server_default=sa.func.now(), default=utcnow, onupdate=utcnow
    )


class TenantOwned:
    """Every tenant-owned table carries an indexed ``tenant_id`` (row-level security keys on it)."""

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805
        return mapped_column(
            sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False
        )
