"""Claiming, marking and releasing outbox rows; each function is one statement.

Timestamps are computed in Python (UTC) and passed as parameters so the same statements run on
Postgres and on SQLite (the embedded mode), where SQLAlchemy drops ``FOR UPDATE`` and the
database serialises writers instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.db.models import OutboxMessage

__all__ = ["ClaimedRow", "claim_batch", "mark_published", "release"]

# Errors are stored for operators, not archived: keep the column small.
_MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class ClaimedRow:
    """A detached copy of a claimed outbox row: everything needed to publish it."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    destination: str
    message_id: uuid.UUID
    payload: dict[str, Any]
    headers: dict[str, Any]
    priority: int
    created_at: datetime
    attempts: int
    claim_token: uuid.UUID


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored by agentfleet is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def claim_batch(session: Session, *, limit: int, lease_s: float) -> list[ClaimedRow]:
    """Lease up to ``limit`` publishable rows to a fresh claim token, oldest first.

    ``FOR UPDATE SKIP LOCKED`` keeps concurrent relays off each other's rows; the lease
    (``claimed_until``) lets another relay take them over if this one dies.
    """
    now = _utcnow()
    token = uuid.uuid4()
    publishable = (
        sa.select(OutboxMessage.id)
        .where(
            OutboxMessage.published_at.is_(None),
            OutboxMessage.available_at <= now,
            sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .order_by(OutboxMessage.available_at, OutboxMessage.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(publishable))
        .values(
            claimed_until=now + timedelta(seconds=lease_s),
            claim_token=token,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(
            OutboxMessage.id,
            OutboxMessage.tenant_id,
            OutboxMessage.kind,
            OutboxMessage.destination,
            OutboxMessage.message_id,
            OutboxMessage.payload,
            OutboxMessage.headers,
            OutboxMessage.priority,
            OutboxMessage.created_at,
            OutboxMessage.attempts,
        )
        .execution_options(synchronize_session=False)
    )
    rows = [
        ClaimedRow(
            id=row.id,
            tenant_id=row.tenant_id,
            kind=row.kind,
            destination=row.destination,
            message_id=row.message_id,
            payload=dict(row.payload),
            headers=dict(row.headers or {}),
            priority=row.priority,
            created_at=_as_utc(row.created_at),
            attempts=row.attempts,
            claim_token=token,
        )
        for row in session.execute(statement)
    ]
    # RETURNING has no order; publish in the order the rows were written.
    rows.sort(key=lambda row: row.created_at)
    return rows


def mark_published(session: Session, ids: Sequence[uuid.UUID], token: uuid.UUID) -> int:
    """Mark rows published if this claim still holds them; returns how many were marked."""
    if not ids:
        return 0
    statement = (
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.claim_token == token,
            OutboxMessage.published_at.is_(None),
        )
        .values(published_at=_utcnow(), claimed_until=None)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return len(session.execute(statement).all())


def release(
    session: Session,
    ids: Sequence[uuid.UUID],
    token: uuid.UUID,
    error: str,
    retry_after_s: float,
) -> int:
    """Give rows back after a failed publish, to be retried after ``retry_after_s``."""
    if not ids:
        return 0
    now = _utcnow()
    statement = (
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.claim_token == token,
            OutboxMessage.published_at.is_(None),
        )
        .values(
            claimed_until=None,
            last_error=error[:_MAX_ERROR_CHARS],
            available_at=now + timedelta(seconds=retry_after_s),
        )
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return len(session.execute(statement).all())
