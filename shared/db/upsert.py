"""Dialect adapter for ``INSERT ... ON CONFLICT DO NOTHING`` (Postgres and SQLite spell it alike
but SQLAlchemy builds it from each dialect's own ``insert``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

__all__ = ["insert_if_absent"]


def insert_if_absent(
    session: Session, model: type[DeclarativeBase], values: dict[str, Any]
) -> bool:
    """Insert a row unless it clashes with a unique constraint; True if it was inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    primary_key = sa.inspect(model).primary_key
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(*primary_key)
    # RETURNING rather than rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
    return session.execute(statement).first() is not None
