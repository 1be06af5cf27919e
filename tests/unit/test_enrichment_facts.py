"""The enrichment agent's pure functions: facts with sources, options, signals, the schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.agents.config import EnrichmentConfig
from shared.apollo import Organization
from workers.enrichment.facts import APOLLO_SOURCE, account_updates, organization_facts
from workers.enrichment.prompt import build_messages, summary_schema

pytestmark = pytest.mark.unit

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ANSWER: dict[str, Any] = {
    "id": "org-1",
    "name": "Northwind",
    "industry": "logistics",
    "estimated_num_employees": 850,
    "annual_revenue": 40_000_000.0,
    "city": "Rotterdam",
    "country": "Netherlands",
    "founded_year": 1999,
    "current_technologies": [{"uid": "sap", "name": "SAP"}, {"uid": "snowflake", "name": None}],
    "technology_names": ["SAP", "Snowflake"],
    "show_intent": True,
    "has_intent_signal_account": True,
    "intent_signal_account": {"intent_strength": "High"},
}


def facts_for(answer: dict[str, Any], **options: bool) -> Any:
    return organization_facts(
        Organization.model_validate(answer),
        EnrichmentConfig(**options),
        AT,
        account_name="Northwind Logistics",
        domain="northwind.example",
    )


def test_every_fact_names_its_source_field_and_time() -> None:
    found = facts_for(ANSWER)

    assert found.facts["employee_count"] == {
        "value": 850,
        "source": APOLLO_SOURCE,
        "field": "estimated_num_employees",
        "retrieved_at": AT.isoformat(),
    }
    assert found.facts["annual_revenue_usd"]["value"] == 40_000_000
    assert found.facts["location"]["value"] == "Rotterdam, Netherlands"
    assert found.facts["technologies"]["value"] == ["SAP"]
    assert found.facts["name"]["source"] == "crm.account"
    for fact in found.facts.values():
        assert {"value", "source", "field"} <= fact.keys()


def test_absent_fields_make_no_facts() -> None:
    found = facts_for({"id": "org-2"})
    assert set(found.facts) == {"name", "domain"}
    assert found.signals == []
    assert account_updates(found.facts) == {}


def test_options_leave_out_technologies_and_intent() -> None:
    found = facts_for(ANSWER, include_technologies=False, include_intent_signals=False)
    assert "technologies" not in found.facts
    assert "intent" not in found.facts
    assert found.signals == []


def test_intent_becomes_one_signal_with_its_strength() -> None:
    found = facts_for(ANSWER)
    assert [(s.title, s.strength) for s in found.signals] == [("Buying intent detected", "high")]
    assert found.signals[0].fact["field"] == "intent_signal_account"
    no_intent = facts_for(ANSWER | {"has_intent_signal_account": False})
    assert no_intent.signals == []
    assert no_intent.facts["intent"]["value"]["has_intent_signal"] is False


def test_account_columns_follow_the_facts() -> None:
    updates = account_updates(facts_for(ANSWER).facts)
    assert updates == {
        "industry": "logistics",
        "employee_count": 850,
        "annual_revenue_usd": 40_000_000,
        "location": "Rotterdam, Netherlands",
        "technologies": ["SAP"],
    }


def test_the_summary_may_only_cite_known_facts() -> None:
    found = facts_for(ANSWER)
    schema = summary_schema(list(found.facts))
    item = schema["properties"]["key_facts"]["items"]
    assert item["properties"]["source_field"]["enum"] == sorted(found.facts)
    assert schema["additionalProperties"] is False
    user = build_messages(found.facts)[1].content
    assert '"employee_count": 850' in user
    assert APOLLO_SOURCE not in user
