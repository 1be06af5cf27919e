"""Deterministic, explainable scores for accounts, contacts and opportunities.

Every score is the weighted mean of criteria valued 0..1, each with the reason for its value,
so a reviewer can see why a record ranks where it does. Pure functions: records in, scores out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from workers.scoring.model import (
    AccountFacts,
    ContactFacts,
    Criterion,
    Icp,
    OpportunityFacts,
    Score,
    combine,
)

__all__ = [
    "SENIORITY_VALUES",
    "STRENGTH_VALUES",
    "is_open",
    "score_account",
    "score_contact",
    "score_opportunity",
    "seniority_of",
]

SENIORITY_VALUES: dict[str, float] = {
    "owner": 1.0,
    "founder": 1.0,
    "c_suite": 1.0,
    "partner": 0.9,
    "vp": 0.9,
    "head": 0.8,
    "director": 0.75,
    "manager": 0.5,
    "senior": 0.35,
    "entry": 0.2,
    "intern": 0.05,
}
_TITLE_LEVELS: tuple[tuple[str, str], ...] = (
    ("chief", "c_suite"),
    ("ceo", "c_suite"),
    ("cto", "c_suite"),
    ("cfo", "c_suite"),
    ("coo", "c_suite"),
    ("cro", "c_suite"),
    ("founder", "founder"),
    ("owner", "owner"),
    ("partner", "partner"),
    ("vice president", "vp"),
    ("vp", "vp"),
    ("head", "head"),
    ("director", "director"),
    ("manager", "manager"),
    ("lead", "manager"),
    ("senior", "senior"),
    ("intern", "intern"),
)
STRENGTH_VALUES: dict[str, float] = {"high": 1.0, "medium": 0.6, "low": 0.3}
_UNKNOWN_STRENGTH = 0.5
_CLOSED_STATUSES = frozenset({"closed", "won", "lost", "closed_won", "closed_lost"})


def seniority_of(title: str | None, seniority: str | None) -> str | None:
    """The contact's seniority as given, else read from the title's words."""
    if seniority and seniority.lower() in SENIORITY_VALUES:
        return seniority.lower()
    words = f" {(title or '').lower().replace(',', ' ').replace('-', ' ')} "
    return next((level for word, level in _TITLE_LEVELS if f" {word} " in words), None)


def is_open(opportunity: OpportunityFacts, now: datetime) -> bool:
    """Not marked closed, and not an event that is already over."""
    if str(opportunity.data.get("status", "")).lower() in _CLOSED_STATUSES:
        return False
    return opportunity.event_date is None or opportunity.event_date >= now - timedelta(days=1)


def score_account(
    account: AccountFacts,
    signals: Sequence[OpportunityFacts],
    icp: Icp,
    now: datetime,
    *,
    prioritize_signals: bool,
) -> Score:
    """Fit (firmographics against the ICP) and intent (signal strength and recency)."""
    return combine(
        [
            _industry(account.industry, icp),
            _company_size(account.employee_count, icp),
            _revenue(account.annual_revenue_usd, icp),
            _location(account.location, icp),
            _technologies(account.technologies, icp),
            _signal_strength(signals, weight=0.4 if prioritize_signals else 0.2),
            _recency(signals, now),
        ]
    )


def score_contact(contact: ContactFacts, account: Score, icp: Icp) -> Score:
    """Fit of the person (seniority, title, reachability) and of their account."""
    level = seniority_of(contact.title, contact.seniority)
    if level is None:
        seniority = Criterion("seniority", "fit", 0.4, 0.1, "seniority unknown")
    elif icp.seniorities and level in icp.seniorities:
        seniority = Criterion("seniority", "fit", 0.4, 1.0, f"{level} is a targeted seniority")
    else:
        seniority = Criterion(
            "seniority", "fit", 0.4, SENIORITY_VALUES[level], f"{level} decision-making level"
        )
    return combine(
        [
            seniority,
            _title(contact.title, icp),
            Criterion(
                "reachability",
                "fit",
                0.1,
                1.0 if contact.has_email else 0.0,
                "has an email address" if contact.has_email else "no email address",
            ),
            Criterion("account", "fit", 0.3, account.value, f"account scored {account.value}"),
        ]
    )


def score_opportunity(
    opportunity: OpportunityFacts, account: Score, now: datetime, *, prioritize_signals: bool
) -> Score:
    """Relevance of an opportunity, event or signal: its kind, timing, strength and account."""
    kinds = {"opportunity": 1.0, "event": 0.8, "signal": 0.7}
    strength = opportunity.strength
    return combine(
        [
            Criterion("account", "fit", 0.3, account.value, f"account scored {account.value}"),
            Criterion(
                "kind",
                "intent",
                0.15,
                kinds.get(opportunity.kind, 0.5),
                f"a {opportunity.kind}",
            ),
            _timing(opportunity, now),
            Criterion(
                "signal_strength",
                "intent",
                0.4 if prioritize_signals else 0.2,
                STRENGTH_VALUES.get(strength or "", _UNKNOWN_STRENGTH),
                f"{strength} strength" if strength else "no strength recorded",
            ),
        ]
    )


def _industry(industry: str | None, icp: Icp) -> Criterion:
    if not industry:
        return Criterion("industry", "fit", 0.15, 0.0, "industry unknown")
    if not icp.industries:
        return Criterion("industry", "fit", 0.15, 0.5, f"{industry}; no target industries set")
    match = _matches(industry, icp.industries)
    if match:
        return Criterion("industry", "fit", 0.15, 1.0, f"{industry} matches target {match}")
    return Criterion("industry", "fit", 0.15, 0.1, f"{industry} is not a target industry")


def _company_size(employees: int | None, icp: Icp) -> Criterion:
    name, weight = "company_size", 0.15
    if employees is None:
        return Criterion(name, "fit", weight, 0.0, "employee count unknown")
    if icp.employee_ranges:
        for low, high in icp.employee_ranges:
            if employees >= low and (high is None or employees <= high):
                span = f"{low}-{high}" if high is not None else f"{low}+"
                return Criterion(name, "fit", weight, 1.0, f"{employees} employees within {span}")
        return Criterion(name, "fit", weight, 0.2, f"{employees} employees outside target ranges")
    if 50 <= employees <= 5_000:
        return Criterion(name, "fit", weight, 1.0, f"{employees} employees: mid-market")
    if 10 <= employees <= 20_000:
        return Criterion(name, "fit", weight, 0.6, f"{employees} employees: near mid-market")
    return Criterion(name, "fit", weight, 0.3, f"{employees} employees: far from mid-market")


def _revenue(revenue: int | None, icp: Icp) -> Criterion:
    name, weight = "revenue", 0.1
    if revenue is None:
        return Criterion(name, "fit", weight, 0.0, "annual revenue unknown")
    if icp.revenue_min is not None or icp.revenue_max is not None:
        low, high = icp.revenue_min or 0, icp.revenue_max
        if revenue >= low and (high is None or revenue <= high):
            return Criterion(name, "fit", weight, 1.0, f"revenue ${revenue:,} within target")
        return Criterion(name, "fit", weight, 0.2, f"revenue ${revenue:,} outside target")
    if revenue >= 1_000_000:
        return Criterion(name, "fit", weight, 1.0, f"revenue ${revenue:,} of at least $1M")
    return Criterion(name, "fit", weight, 0.4, f"revenue ${revenue:,} under $1M")


def _location(location: str | None, icp: Icp) -> Criterion:
    if not location:
        return Criterion("location", "fit", 0.1, 0.0, "location unknown")
    if not icp.locations:
        return Criterion("location", "fit", 0.1, 0.5, f"{location}; no target locations set")
    match = _matches(location, icp.locations)
    if match:
        return Criterion("location", "fit", 0.1, 1.0, f"{location} matches target {match}")
    return Criterion("location", "fit", 0.1, 0.1, f"{location} is not a target location")


def _technologies(technologies: Sequence[str], icp: Icp) -> Criterion:
    name, weight = "technologies", 0.1
    if not technologies:
        return Criterion(name, "fit", weight, 0.0, "technologies unknown")
    if icp.technologies:
        wanted = {t.lower().replace("_", " ") for t in icp.technologies}
        found = sorted({t for t in technologies if t.lower().replace("_", " ") in wanted})
        if not found:
            return Criterion(name, "fit", weight, 0.1, "uses none of the target technologies")
        value = min(1.0, 0.5 + 0.5 * len(found) / len(wanted))
        return Criterion(name, "fit", weight, round(value, 4), f"uses {', '.join(found)}")
    value = min(1.0, len(technologies) / 5)
    return Criterion(name, "fit", weight, value, f"{len(technologies)} technologies known")


def _signal_strength(signals: Sequence[OpportunityFacts], *, weight: float) -> Criterion:
    if not signals:
        return Criterion("intent_signals", "intent", weight, 0.0, "no intent signals")
    best = max(STRENGTH_VALUES.get(s.strength or "", _UNKNOWN_STRENGTH) for s in signals)
    value = min(1.0, best + 0.1 * (len(signals) - 1))
    strengths = sorted({s.strength or "unknown" for s in signals})
    reason = f"{len(signals)} signal(s), strength {'/'.join(strengths)}"
    return Criterion("intent_signals", "intent", weight, round(value, 4), reason)


def _recency(signals: Sequence[OpportunityFacts], now: datetime) -> Criterion:
    if not signals:
        return Criterion("recency", "intent", 0.15, 0.0, "no signals to date")
    days = max(0, (now - max(s.seen_at for s in signals)).days)
    return Criterion("recency", "intent", 0.15, _age_value(days), f"latest signal {days} days old")


def _timing(opportunity: OpportunityFacts, now: datetime) -> Criterion:
    if opportunity.event_date is None:
        days = max(0, (now - opportunity.seen_at).days)
        return Criterion("timing", "intent", 0.3, _age_value(days), f"seen {days} days ago")
    ahead = (opportunity.event_date - now).days
    if ahead < 0:
        return Criterion("timing", "intent", 0.3, 0.05, f"took place {-ahead} days ago")
    if ahead <= 90:
        return Criterion("timing", "intent", 0.3, 1.0, f"in {ahead} days: time to reach out")
    if ahead <= 180:
        return Criterion("timing", "intent", 0.3, 0.6, f"in {ahead} days")
    return Criterion("timing", "intent", 0.3, 0.3, f"in {ahead} days: far off")


def _title(title: str | None, icp: Icp) -> Criterion:
    if not title:
        return Criterion("title", "fit", 0.2, 0.0, "title unknown")
    if not icp.titles:
        return Criterion("title", "fit", 0.2, 0.5, f"{title}; no target titles set")
    match = _matches(title, icp.titles)
    if match:
        return Criterion("title", "fit", 0.2, 1.0, f"{title} matches target {match}")
    return Criterion("title", "fit", 0.2, 0.2, f"{title} is not a target title")


def _age_value(days: int) -> float:
    if days <= 30:
        return 1.0
    if days <= 90:
        return 0.6
    if days <= 180:
        return 0.3
    return 0.1


def _matches(value: str, targets: Sequence[str]) -> str | None:
    """The first target contained in ``value`` or containing it (case-insensitive)."""
    lowered = value.lower()
    return next((t for t in targets if t.lower() in lowered or lowered in t.lower()), None)
