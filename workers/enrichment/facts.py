"""What an Apollo organization enrich answer says about an account, each fact with its source.

Pure functions: the same answer, options and time always give the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.agents.config import EnrichmentConfig
from shared.apollo import Organization

__all__ = [
    "APOLLO_SOURCE",
    "CRM_SOURCE",
    "OrganizationFacts",
    "SignalFact",
    "account_updates",
    "organization_facts",
]

APOLLO_SOURCE = "apollo.organization_enrich"
CRM_SOURCE = "crm.account"

_ACCOUNT_COLUMNS = {
    "industry": "industry",
    "employee_count": "employee_count",
    "annual_revenue_usd": "annual_revenue_usd",
    "location": "location",
    "technologies": "technologies",
}


@dataclass(frozen=True)
class SignalFact:
    """An intent signal, stored as an opportunity of kind ``signal`` (one per account+title)."""

    title: str
    description: str
    strength: str
    fact: dict[str, Any]


@dataclass(frozen=True)
class OrganizationFacts:
    facts: dict[str, dict[str, Any]]
    """Fact name → ``{"value", "source", "field", "retrieved_at", ...}``."""
    signals: list[SignalFact]
    news: list[dict[str, Any]]


def organization_facts(
    organization: Organization,
    config: EnrichmentConfig,
    retrieved_at: datetime,
    *,
    account_name: str,
    domain: str,
) -> OrganizationFacts:
    """The facts of ``organization`` that ``config`` asks for, each naming where it came from."""
    stamp = retrieved_at.isoformat()
    request_id = organization.request_id

    def apollo(value: Any, field: str) -> dict[str, Any]:
        fact = {"value": value, "source": APOLLO_SOURCE, "field": field, "retrieved_at": stamp}
        return fact | ({"request_id": request_id} if request_id else {})

    facts: dict[str, dict[str, Any]] = {
        "name": {"value": account_name, "source": CRM_SOURCE, "field": "name"},
        "domain": {"value": domain, "source": CRM_SOURCE, "field": "domain"},
    }
    firmographics: dict[str, tuple[Any, str]] = {
        "industry": (organization.industry, "industry"),
        "employee_count": (organization.estimated_num_employees, "estimated_num_employees"),
        "annual_revenue_usd": (
            int(organization.annual_revenue) if organization.annual_revenue is not None else None,
            "annual_revenue",
        ),
        "location": (_location(organization), "city,state,country"),
        "founded_year": (organization.founded_year, "founded_year"),
        "keywords": (organization.keywords or None, "keywords"),
        "linkedin_url": (organization.linkedin_url, "linkedin_url"),
    }
    for name, (value, field) in firmographics.items():
        if value is not None and value != "":
            facts[name] = apollo(value, field)
    if config.include_technologies:
        named = [t.name for t in organization.technologies if t.name]
        if named:
            facts["technologies"] = apollo(named, "current_technologies")
        elif organization.technology_names:
            facts["technologies"] = apollo(organization.technology_names, "technology_names")
    signals: list[SignalFact] = []
    if config.include_intent_signals and organization.has_intent_signal_account is not None:
        detail = organization.intent_signal_account or {}
        strength = str(detail.get("intent_strength") or "unknown").lower()
        facts["intent"] = apollo(
            {"has_intent_signal": organization.has_intent_signal_account, "strength": strength},
            "has_intent_signal_account,intent_signal_account",
        )
        if organization.has_intent_signal_account:
            signals.append(
                SignalFact(
                    title="Buying intent detected",
                    description=f"Apollo reports {strength} buying intent for this account.",
                    strength=strength,
                    fact=apollo(detail, "intent_signal_account"),
                )
            )
    # Apollo's organization model as parsed carries no news articles; the list stays empty
    # rather than inventing items.
    news: list[dict[str, Any]] = []
    return OrganizationFacts(facts=facts, signals=signals, news=news)


def account_updates(facts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Account column → new value, for the columns the facts cover."""
    return {
        column: facts[name]["value"] for name, column in _ACCOUNT_COLUMNS.items() if name in facts
    }


def _location(organization: Organization) -> str | None:
    parts = [p for p in (organization.city, organization.state, organization.country) if p]
    return ", ".join(parts)[:300] if parts else None
