"""Per-type agent config models: defaults, aliases, ranges, enums and cron schedules."""

from __future__ import annotations

from typing import Any

import pytest

from shared.agent_types import AgentType
from shared.agents.config import AgentConfigInvalid, to_aliases, validate_agent_config
from shared.agents.cron import validate_cron

pytestmark = pytest.mark.unit

COMMON_DEFAULTS = {
    "enabled": True,
    "schedule": None,
    "limits": {"daily": None, "hourly": None},
    "approvalRequired": True,
    "approvalExpiryHours": None,
    "llmProvider": None,
    "llmModel": None,
}


def _errors(agent_type: AgentType, raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(AgentConfigInvalid) as caught:
        validate_agent_config(agent_type, raw)
    return {e["field"]: e["message"] for e in caught.value.errors}


@pytest.mark.parametrize(
    ("agent_type", "expected"),
    [
        (
            AgentType.OUTREACH,
            {
                "autoApprove": False,
                "maxDailyOutreach": 50,
                "messageTone": "professional",
                "includeEventContext": True,
                "includeAccountIntelligence": True,
                "notifyFollowupAgent": False,
                "defaultFollowupDelayDays": 3,
            },
        ),
        (
            AgentType.FOLLOWUP,
            {
                "defaultFollowupDelayDays": 3,
                "maxFollowups": 3,
                "escalationAfterAttempts": 2,
                "followupTypes": ["reminder", "value_add", "check_in", "escalation"],
            },
        ),
        (
            AgentType.SCORING,
            {
                "minRelevanceScore": 0.5,
                "maxOpportunitiesPerDay": 50,
                "prioritizeBySignalStrength": True,
                "coordinateWithOutreach": True,
            },
        ),
        (
            AgentType.LEAD_SOURCE,
            {
                "industries": [],
                "employeeRanges": [],
                "revenueRange": {"min": None, "max": None},
                "locations": [],
                "technologies": [],
                "keywords": [],
                "maxPagesPerRun": 5,
            },
        ),
        (
            AgentType.ENRICHMENT,
            {"includeNews": True, "includeTechnologies": True, "includeIntentSignals": True},
        ),
        (
            AgentType.CONTACT_FINDER,
            {
                "titles": [],
                "seniorities": [],
                "departments": [],
                "maxContactsPerAccount": 5,
                "revealEmails": True,
            },
        ),
    ],
)
def test_empty_config_gets_every_default(agent_type: AgentType, expected: dict[str, Any]) -> None:
    assert validate_agent_config(agent_type, {}) == {**COMMON_DEFAULTS, **expected}


def test_camel_case_and_snake_case_are_both_accepted_and_stored_camel_case() -> None:
    by_alias = validate_agent_config(
        AgentType.OUTREACH, {"autoApprove": True, "maxDailyOutreach": 10, "approvalRequired": False}
    )
    by_name = validate_agent_config(
        AgentType.OUTREACH,
        {"auto_approve": True, "max_daily_outreach": 10, "approval_required": False},
    )

    assert by_alias == by_name
    assert by_alias["autoApprove"] is True
    assert by_alias["maxDailyOutreach"] == 10
    assert by_alias["approvalRequired"] is False
    assert "auto_approve" not in by_alias


def test_to_aliases_renames_known_fields_only() -> None:
    renamed = to_aliases(AgentType.OUTREACH, {"max_daily_outreach": 5, "limits": {}, "nope": 1})
    assert renamed == {"maxDailyOutreach": 5, "limits": {}, "nope": 1}


def test_the_seeds_configs_validate() -> None:
    outreach = validate_agent_config(
        AgentType.OUTREACH,
        {
            "autoApprove": False,
            "maxDailyOutreach": 25,
            "messageTone": "friendly",
            "includeEventContext": True,
            "includeAccountIntelligence": False,
            "notifyFollowupAgent": True,
            "defaultFollowupDelayDays": 5,
            "schedule": "0 9 * * 1-5",
            "limits": {"daily": 100, "hourly": 20},
            "llmProvider": "anthropic",
            "llmModel": "claude-sonnet",
        },
    )
    lead_source = validate_agent_config(
        AgentType.LEAD_SOURCE,
        {
            "industries": ["software"],
            "employeeRanges": ["51,200", "10001,"],
            "revenueRange": {"min": 1_000_000, "max": 50_000_000},
            "locations": ["Germany"],
        },
    )
    contacts = validate_agent_config(
        AgentType.CONTACT_FINDER, {"seniorities": ["vp", "c_suite"], "titles": ["CTO"]}
    )

    assert outreach["limits"] == {"daily": 100, "hourly": 20}
    assert outreach["schedule"] == "0 9 * * 1-5"
    assert lead_source["employeeRanges"] == ["51,200", "10001,"]
    assert contacts["seniorities"] == ["vp", "c_suite"]


def test_every_problem_is_listed_with_its_field() -> None:
    with pytest.raises(AgentConfigInvalid) as caught:
        validate_agent_config(
            AgentType.OUTREACH,
            {"maxDailyOutreach": 0, "messageTone": "rude", "bogus": 1, "schedule": "61 * * * *"},
        )

    fields = [e["field"] for e in caught.value.errors]
    assert sorted(fields) == [
        "config.bogus",
        "config.maxDailyOutreach",
        "config.messageTone",
        "config.schedule",
    ]
    assert "config.messageTone: Input should be 'professional', 'friendly' or 'casual'" in str(
        caught.value
    )
    assert "config.schedule: minute: 61 is outside 0-59" in str(caught.value)


@pytest.mark.parametrize(
    ("agent_type", "field", "bad"),
    [
        (AgentType.OUTREACH, "maxDailyOutreach", 0),
        (AgentType.OUTREACH, "maxDailyOutreach", 10_001),
        (AgentType.OUTREACH, "defaultFollowupDelayDays", 0),
        (AgentType.OUTREACH, "defaultFollowupDelayDays", 91),
        (AgentType.FOLLOWUP, "defaultFollowupDelayDays", 91),
        (AgentType.FOLLOWUP, "maxFollowups", 0),
        (AgentType.FOLLOWUP, "maxFollowups", 11),
        (AgentType.FOLLOWUP, "escalationAfterAttempts", 0),
        (AgentType.SCORING, "minRelevanceScore", -0.1),
        (AgentType.SCORING, "minRelevanceScore", 1.01),
        (AgentType.SCORING, "maxOpportunitiesPerDay", 0),
        (AgentType.LEAD_SOURCE, "maxPagesPerRun", 0),
        (AgentType.LEAD_SOURCE, "maxPagesPerRun", 51),
        (AgentType.CONTACT_FINDER, "maxContactsPerAccount", 0),
        (AgentType.CONTACT_FINDER, "maxContactsPerAccount", 51),
    ],
)
def test_numbers_outside_their_range_are_rejected(
    agent_type: AgentType, field: str, bad: float
) -> None:
    assert f"config.{field}" in _errors(agent_type, {field: bad})


@pytest.mark.parametrize(
    ("agent_type", "raw", "field"),
    [
        (AgentType.OUTREACH, {"messageTone": "shouty"}, "config.messageTone"),
        (AgentType.OUTREACH, {"llmProvider": "mistral"}, "config.llmProvider"),
        (AgentType.FOLLOWUP, {"followupTypes": ["nag"]}, "config.followupTypes.0"),
        (AgentType.FOLLOWUP, {"followupTypes": []}, "config.followupTypes"),
        (AgentType.CONTACT_FINDER, {"seniorities": ["boss"]}, "config.seniorities.0"),
        (AgentType.LEAD_SOURCE, {"employeeRanges": ["lots"]}, "config.employeeRanges.0"),
        (AgentType.LEAD_SOURCE, {"employeeRanges": ["200,51"]}, "config.employeeRanges"),
        (AgentType.LEAD_SOURCE, {"revenueRange": {"min": 5, "max": 1}}, "config.revenueRange"),
        (AgentType.ENRICHMENT, {"limits": {"daily": 0}}, "config.limits.daily"),
        (AgentType.ENRICHMENT, {"limits": {"hourly": 0}}, "config.limits.hourly"),
        (AgentType.ENRICHMENT, {"limits": {"weekly": 5}}, "config.limits.weekly"),
        (AgentType.ENRICHMENT, {"autoApprove": True}, "config.autoApprove"),
        (AgentType.FOLLOWUP, {"maxFollowups": 1}, "config"),
    ],
)
def test_bad_values_name_their_field(
    agent_type: AgentType, raw: dict[str, Any], field: str
) -> None:
    assert field in _errors(agent_type, raw)


def test_followup_types_are_deduplicated() -> None:
    config = validate_agent_config(AgentType.FOLLOWUP, {"followupTypes": ["reminder", "reminder"]})
    assert config["followupTypes"] == ["reminder"]


@pytest.mark.parametrize(
    ("expression", "normalised"),
    [
        ("* * * * *", "* * * * *"),
        ("*/15 9-17 * * MON-FRI", "*/15 9-17 * * mon-fri"),
        ("0  6,18 1 jan-jun 0", "0 6,18 1 jan-jun 0"),
        ("30 2 */2 12 7", "30 2 */2 12 7"),
        ("0-30/10 * 31 * sun", "0-30/10 * 31 * sun"),
    ],
)
def test_valid_cron_expressions(expression: str, normalised: str) -> None:
    assert validate_cron(expression) == normalised


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "expected 5 fields"),
        ("* * * * * *", "expected 5 fields"),
        ("60 * * * *", "minute: 60 is outside 0-59"),
        ("* 24 * * *", "hour: 24 is outside 0-23"),
        ("* * 0 * *", "day of month: 0 is outside 1-31"),
        ("* * * 13 *", "month: 13 is outside 1-12"),
        ("* * * * 8", "day of week: 8 is outside 0-7"),
        ("*/0 * * * *", "step must be at least 1"),
        ("30-10 * * * *", "runs backwards"),
        ("? * * * *", "not a valid cron item"),
        ("* * * foo *", "'foo' is not a number"),
        ("@daily", "expected 5 fields"),
    ],
)
def test_invalid_cron_expressions(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_cron(expression)


def test_schedule_is_validated_inside_the_config() -> None:
    assert "config.schedule" in _errors(AgentType.SCORING, {"schedule": "every day"})
    assert validate_agent_config(AgentType.SCORING, {"schedule": "0 9 * * *"})["schedule"] == (
        "0 9 * * *"
    )
