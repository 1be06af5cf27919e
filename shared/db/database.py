"""The database handle a process builds once in its bootstrap."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from shared.db.engine import build_engine
from shared.db.isolation import TenantIsolation, isolation_for
from shared.db.unit_of_work import UnitOfWork

__all__ = ["Database", "open_database"]


@dataclass(frozen=True)
class Database:
    engine: sa.Engine
    sessions: sessionmaker[Session]
    isolation: TenantIsolation

    def unit_of_work(self, tenant_id: uuid.UUID | None = None) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.isolation, tenant_id)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, pool_size: int = 10) -> Database:
    """Build the engine and session factory; no connection is made until first use."""
    engine = build_engine(url, pool_size=pool_size)
    sessions = sessionmaker(engine, expire_on_commit=False)
    return Database(engine=engine, sessions=sessions, isolation=isolation_for(engine))
