"""How far a mailbox's inbox has been read, as kept in ``mailboxes.poll_state``.

``last_uid`` counts only under the ``uidvalidity`` it was read with: when the server reports
another UIDVALIDITY its UIDs name other messages, and the inbox is read from the start again.
``polled_at`` is written as fixed-width UTC text, so it also compares correctly as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["PollState", "polled_at_text"]


def polled_at_text(moment: datetime) -> str:
    """``moment`` as stored in ``poll_state.polled_at``: ``2001-01-01T00:00:00.000000+00:00``."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class PollState:
    uidvalidity: int | None = None
    last_uid: int = 0
    polled_at: datetime | None = None
    last_error: str | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> PollState:
        """Read a stored state; a value of the wrong shape counts as absent."""
        last_error = raw.get("last_error")
        return cls(
            uidvalidity=_count(raw.get("uidvalidity")),
            last_uid=_count(raw.get("last_uid")) or 0,
            polled_at=_moment(raw.get("polled_at")),
            last_error=last_error if isinstance(last_error, str) else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "uidvalidity": self.uidvalidity,
            "last_uid": self.last_uid,
            "polled_at": polled_at_text(self.polled_at) if self.polled_at else None,
            "last_error": self.last_error,
        }

    def read_up_to(self, uidvalidity: int) -> int:
        """The last UID already read under ``uidvalidity`` (0 when the inbox starts over)."""
        return self.last_uid if self.uidvalidity == uidvalidity else 0


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
