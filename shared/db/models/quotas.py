"""Per-agent quota windows (daily / hourly limits, ``maxDailyOutreach``) and the tasks holding them.

A window row counts the slots taken in one window; a claim row per ``(task, quota)`` makes
taking a slot idempotent, so a redelivered task does not count twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, TenantOwned, new_id


class AgentQuotaWindow(TenantOwned, Base):
    __tablename__ = "agent_quota_windows"
    __table_args__ = (sa.UniqueConstraint("agent_id", "quota", "window_start"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agent_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("agents.id", ondelete="CASCADE"))
    quota: Mapped[str] = mapped_column(sa.String(30))
    window_start: Mapped[datetime]
    used: Mapped[int] = mapped_column(default=0)


class AgentQuotaClaim(TenantOwned, Base):
    __tablename__ = "agent_quota_claims"
    __table_args__ = (sa.UniqueConstraint("task_id", "quota"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    task_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("tasks.id", ondelete="CASCADE"))
    agent_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    quota: Mapped[str] = mapped_column(sa.String(30))
    window_start: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
