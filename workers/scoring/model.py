"""What scoring works on and what it gives: record facts, the ICP, criteria and scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "SCORING_VERSION",
    "AccountFacts",
    "ContactFacts",
    "Criterion",
    "Group",
    "Icp",
    "OpportunityFacts",
    "Score",
    "combine",
]

SCORING_VERSION = "scoring/1"

Group = Literal["fit", "intent"]


@dataclass(frozen=True)
class Criterion:
    criterion: str
    group: Group
    weight: float
    value: float
    reason: str


@dataclass(frozen=True)
class Score:
    value: float
    criteria: tuple[Criterion, ...]

    def group_value(self, group: Group) -> float | None:
        """The weighted mean of one group's criteria (None when it has none)."""
        members = [c for c in self.criteria if c.group == group]
        return combine(members).value if members else None

    def explanation(self, **context: Any) -> dict[str, Any]:
        return {
            "score": self.value,
            "fit": self.group_value("fit"),
            "intent": self.group_value("intent"),
            "method": SCORING_VERSION,
            "criteria": [asdict(c) for c in self.criteria],
            **context,
        }


@dataclass(frozen=True)
class Icp:
    """The ideal customer profile scored against; empty fields fall back to general heuristics."""

    industries: tuple[str, ...] = ()
    employee_ranges: tuple[tuple[int, int | None], ...] = ()
    revenue_min: int | None = None
    revenue_max: int | None = None
    locations: tuple[str, ...] = ()
    technologies: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    seniorities: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountFacts:
    industry: str | None
    employee_count: int | None
    annual_revenue_usd: int | None
    location: str | None
    technologies: tuple[str, ...]


@dataclass(frozen=True)
class ContactFacts:
    title: str | None
    seniority: str | None
    has_email: bool


@dataclass(frozen=True)
class OpportunityFacts:
    kind: str
    seen_at: datetime
    event_date: datetime | None = None
    strength: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def combine(criteria: Sequence[Criterion]) -> Score:
    """The weighted mean of ``criteria``, clamped to 0..1 and rounded to four places."""
    total = sum(c.weight for c in criteria)
    value = sum(c.weight * c.value for c in criteria) / total if total else 0.0
    return Score(value=round(min(max(value, 0.0), 1.0), 4), criteria=tuple(criteria))
