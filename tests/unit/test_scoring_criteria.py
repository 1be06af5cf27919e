"""The scoring agent's pure functions: weights, values, reasons and the ICP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workers.scoring.criteria import (
    is_open,
    score_account,
    score_contact,
    score_opportunity,
    seniority_of,
)
from workers.scoring.model import (
    SCORING_VERSION,
    AccountFacts,
    ContactFacts,
    Criterion,
    Icp,
    OpportunityFacts,
    combine,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MID_MARKET = AccountFacts(
    industry="Logistics",
    employee_count=850,
    annual_revenue_usd=40_000_000,
    location="Rotterdam, Netherlands",
    technologies=("SAP", "Snowflake"),
)
ICP = Icp(
    industries=("logistics",),
    employee_ranges=((200, 2000),),
    revenue_min=10_000_000,
    locations=("Netherlands",),
    technologies=("snowflake",),
    titles=("Operations",),
    seniorities=("vp",),
)


def signal(strength: str | None, days_ago: int = 3) -> OpportunityFacts:
    return OpportunityFacts(
        kind="signal", seen_at=NOW - timedelta(days=days_ago), strength=strength
    )


def test_combine_is_the_weighted_mean_clamped_and_rounded() -> None:
    score = combine(
        [
            Criterion("a", "fit", 0.75, 1.0, "full"),
            Criterion("b", "intent", 0.25, 0.0, "none"),
        ]
    )
    assert score.value == 0.75
    assert score.group_value("fit") == 1.0
    assert score.group_value("intent") == 0.0
    assert combine([]).value == 0.0


def test_every_criterion_is_explained_with_weight_value_and_reason() -> None:
    score = score_account(MID_MARKET, [signal("high")], ICP, NOW, prioritize_signals=True)
    explanation = score.explanation(task_id="t")

    assert explanation["method"] == SCORING_VERSION
    assert explanation["score"] == score.value
    assert explanation["task_id"] == "t"
    names = [c["criterion"] for c in explanation["criteria"]]
    assert names == [
        "industry",
        "company_size",
        "revenue",
        "location",
        "technologies",
        "intent_signals",
        "recency",
    ]
    for criterion in explanation["criteria"]:
        assert set(criterion) == {"criterion", "group", "weight", "value", "reason"}
        assert 0.0 <= criterion["value"] <= 1.0
        assert criterion["weight"] > 0
        assert criterion["reason"]
    assert 0.0 <= explanation["fit"] <= 1.0
    assert 0.0 <= explanation["intent"] <= 1.0


def test_an_account_matching_the_icp_with_fresh_strong_signals_scores_near_one() -> None:
    score = score_account(MID_MARKET, [signal("high")], ICP, NOW, prioritize_signals=True)
    assert score.value >= 0.95
    reasons = {c.criterion: c.reason for c in score.criteria}
    assert "matches target logistics" in reasons["industry"]
    assert "within 200-2000" in reasons["company_size"]


def test_an_account_outside_the_icp_without_signals_scores_low() -> None:
    far = AccountFacts("Retail", 12, 200_000, "Chicago", ())
    assert score_account(far, [], ICP, NOW, prioritize_signals=False).value < 0.2


def test_unknown_firmographics_are_worth_nothing() -> None:
    unknown = AccountFacts(None, None, None, None, ())
    score = score_account(unknown, [], Icp(), NOW, prioritize_signals=False)
    assert score.value == 0.0
    assert all("unknown" in c.reason or "no " in c.reason for c in score.criteria)


def test_without_an_icp_general_heuristics_apply() -> None:
    score = score_account(MID_MARKET, [], Icp(), NOW, prioritize_signals=False)
    values = {c.criterion: c.value for c in score.criteria}
    assert values["industry"] == 0.5
    assert values["company_size"] == 1.0
    assert values["revenue"] == 1.0
    assert values["technologies"] == pytest.approx(0.4)


def test_prioritizing_signal_strength_weighs_signals_more() -> None:
    strong = [signal("high")]
    weak_fit = AccountFacts("Retail", 12, None, None, ())
    plain = score_account(weak_fit, strong, ICP, NOW, prioritize_signals=False)
    prioritized = score_account(weak_fit, strong, ICP, NOW, prioritize_signals=True)
    weight = {c.criterion: c.weight for c in prioritized.criteria}["intent_signals"]
    assert weight > {c.criterion: c.weight for c in plain.criteria}["intent_signals"]
    assert prioritized.value > plain.value


def test_signal_strength_and_recency_order_accounts() -> None:
    def scored(signals: list[OpportunityFacts]) -> float:
        return score_account(MID_MARKET, signals, ICP, NOW, prioritize_signals=True).value

    assert scored([signal("high")]) > scored([signal("medium")]) > scored([signal("low")])
    assert (
        scored([signal("high", 2)]) > scored([signal("high", 60)]) > scored([signal("high", 400)])
    )
    assert scored([signal("low"), signal("low")]) > scored([signal("low")])


@pytest.mark.parametrize(
    ("title", "seniority", "expected"),
    [
        ("VP Operations", None, "vp"),
        ("Chief Technology Officer", None, "c_suite"),
        ("Head of Data", None, "head"),
        ("Director of Procurement", None, "director"),
        ("Account Executive", None, None),
        ("Whatever", "Manager", "manager"),
        (None, None, None),
    ],
)
def test_seniority_comes_from_the_field_or_the_title(
    title: str | None, seniority: str | None, expected: str | None
) -> None:
    assert seniority_of(title, seniority) == expected


def test_senior_reachable_contacts_at_good_accounts_rank_first() -> None:
    account = score_account(MID_MARKET, [signal("high")], ICP, NOW, prioritize_signals=True)
    vp = score_contact(ContactFacts("VP Operations", None, True), account, ICP)
    intern = score_contact(ContactFacts("Sales Intern", None, True), account, ICP)
    unreachable = score_contact(ContactFacts("VP Operations", None, False), account, ICP)
    assert vp.value > unreachable.value > intern.value
    reasons = {c.criterion: c.reason for c in vp.criteria}
    assert reasons["seniority"] == "vp is a targeted seniority"
    assert "matches target Operations" in reasons["title"]
    assert reasons["reachability"] == "has an email address"


def test_a_contacts_score_carries_its_accounts_score() -> None:
    good = score_account(MID_MARKET, [signal("high")], ICP, NOW, prioritize_signals=True)
    poor = score_account(
        AccountFacts(None, None, None, None, ()), [], ICP, NOW, prioritize_signals=True
    )
    person = ContactFacts("Director of Sales", "director", True)
    assert score_contact(person, good, Icp()).value > score_contact(person, poor, Icp()).value


def test_opportunities_score_on_timing_kind_and_strength() -> None:
    account = score_account(MID_MARKET, [], ICP, NOW, prioritize_signals=False)

    def scored(opportunity: OpportunityFacts) -> float:
        return score_opportunity(opportunity, account, NOW, prioritize_signals=False).value

    soon = OpportunityFacts("event", NOW - timedelta(days=1), NOW + timedelta(days=30))
    late = OpportunityFacts("event", NOW - timedelta(days=1), NOW + timedelta(days=300))
    past = OpportunityFacts("event", NOW - timedelta(days=40), NOW - timedelta(days=10))
    assert scored(soon) > scored(late) > scored(past)
    assert scored(signal("high")) > scored(signal("low"))
    timing = {
        c.criterion: c.reason
        for c in score_opportunity(soon, account, NOW, prioritize_signals=False).criteria
    }["timing"]
    assert timing == "in 30 days: time to reach out"


def test_closed_and_past_opportunities_are_not_open() -> None:
    assert is_open(signal("high"), NOW)
    assert not is_open(OpportunityFacts("opportunity", NOW, data={"status": "closed_won"}), NOW)
    assert not is_open(OpportunityFacts("event", NOW, NOW - timedelta(days=3)), NOW)
    assert is_open(OpportunityFacts("event", NOW, NOW - timedelta(hours=3)), NOW)


def test_scores_are_deterministic() -> None:
    first = score_account(MID_MARKET, [signal("medium")], ICP, NOW, prioritize_signals=True)
    again = score_account(MID_MARKET, [signal("medium")], ICP, NOW, prioritize_signals=True)
    assert first == again
