"""Choosing a follow-up: its type by attempt, escalation, the maximum and stopping on reply."""

from __future__ import annotations

import pytest

from shared.agents.config import FollowupConfig
from shared.errors import PermanentError
from workers.followup.plan import choose_followup_type, plan_followup
from workers.outreach.intelligence import account_intelligence

pytestmark = pytest.mark.unit


def test_types_rotate_until_escalation_takes_over() -> None:
    config = FollowupConfig(max_followups=5, escalation_after_attempts=4)

    kinds = [choose_followup_type(config, attempt) for attempt in range(1, 6)]

    assert kinds == ["reminder", "value_add", "check_in", "escalation", "escalation"]


def test_only_enabled_types_are_used() -> None:
    config = FollowupConfig.model_validate(
        {"followupTypes": ["check_in", "reminder"], "maxFollowups": 4, "escalationAfterAttempts": 2}
    )

    kinds = [choose_followup_type(config, attempt) for attempt in range(1, 5)]

    assert kinds == ["check_in", "reminder", "check_in", "reminder"]


def test_only_escalation_enabled_skips_early_attempts_but_keeps_the_sequence() -> None:
    config = FollowupConfig(followup_types=["escalation"], escalation_after_attempts=2)

    plan = plan_followup(config, 1, None, None)

    assert plan.followup_type is None
    assert plan.schedule_next
    assert plan_followup(config, 2, None, None).followup_type == "escalation"


def test_a_stop_reason_or_the_maximum_ends_the_sequence() -> None:
    config = FollowupConfig(max_followups=2, escalation_after_attempts=2)

    stopped = plan_followup(config, 1, None, "the contact's outreach status is replied")
    past = plan_followup(config, 3, None, None)
    last = plan_followup(config, 2, None, None)

    assert (stopped.followup_type, stopped.schedule_next) == (None, False)
    assert (past.followup_type, past.schedule_next) == (None, False)
    assert (last.followup_type, last.schedule_next) == ("escalation", False)


def test_a_requested_type_must_be_enabled() -> None:
    config = FollowupConfig(followup_types=["reminder"], escalation_after_attempts=1)

    with pytest.raises(PermanentError, match="value_add"):
        plan_followup(config, 1, "value_add", None)


def test_account_intelligence_keeps_each_fact_with_its_source() -> None:
    enrichment = {
        "source": "apollo",
        "description": "Freight forwarding across Europe",
        "news": [{"title": "Opens Antwerp hub", "url": "https://news.example/a"}],
        "intent_signals": ["Hiring 12 data engineers"],
        "raw": {"ignored": True},
    }

    items = account_intelligence(enrichment)

    assert items == [
        {
            "fact": "Description: Freight forwarding across Europe",
            "kind": "description",
            "source": "apollo",
        },
        {"fact": "Opens Antwerp hub", "kind": "news", "source": "https://news.example/a"},
        {"fact": "Hiring 12 data engineers", "kind": "intent_signals", "source": "apollo"},
    ]
