"""Engine construction. Creating an engine does not connect; the first query does."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from shared.db.sqlite import configure_sqlite_engine

__all__ = ["build_engine"]


def build_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> sa.Engine:
    """An engine for Postgres (production) or SQLite (embedded mode)."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=pool_size
        )
        configure_sqlite_engine(engine)
        return engine
    if backend != "postgresql":
        raise ValueError(f"unsupported database backend {backend!r} (postgresql or sqlite)")
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
    )
