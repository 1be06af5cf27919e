"""The grounding check on its own: what a draft may say, given the context it was written from."""

from __future__ import annotations

import random
from typing import Any

import pytest

from services.sandbox.config import DRAFT_FAULTS
from services.sandbox.context import PromptContext
from services.sandbox.drafts import write_draft
from services.sandbox.followups import write_followup
from services.sandbox.spoilers import spoil_draft
from workers.outreach.grounding import check_grounding, placeholders_in

pytestmark = pytest.mark.unit

CONTEXT: dict[str, Any] = {
    "contact": {
        "first_name": "Maya",
        "last_name": "Okafor",
        "title": "VP Operations",
        "company": "Northwind Logistics",
    },
    "account": {
        "name": "Northwind Logistics",
        "industry": "Logistics",
        "employee_count": 2300,
        "location": "Rotterdam",
        "technologies": ["SAP", "Snowflake"],
        "intelligence": [
            {"fact": "Opened a hub in Antwerp", "kind": "news", "source": "https://n.example/1"}
        ],
    },
    "opportunity": {
        "kind": "event",
        "title": "SupplyChain Live 2027",
        "event_date": "2027-01-21",
        "location": "Amsterdam",
    },
    "history": [{"subject": "An idea for Northwind Logistics", "status": "approved"}],
    "channel": "email",
    "tone": "professional",
    "max_words": 150,
}


def answer(body: str, *facts: tuple[str, str], subject: str = "Hello") -> dict[str, Any]:
    return {
        "subject": subject,
        "body": body,
        "facts_used": [{"fact": fact, "source": source} for fact, source in facts],
    }


def test_a_draft_built_only_from_its_context_passes() -> None:
    draft = answer(
        "Hello Maya,\n\nAs VP Operations at Northwind Logistics, with about 2,300 people and "
        "a new hub in Antwerp, are you going to SupplyChain Live 2027 in Amsterdam on "
        "January 21, 2027? Would a 15-minute call next week help?\n\nBest regards",
        ("First name: Maya", "contact.first_name"),
        ("VP Operations", "contact.title"),
        ("Employees: 2300", "account.employee_count"),
        ("Event date: January 21, 2027", "opportunity.event_date"),
        ("Uses SAP", "account.technologies"),
        ("Hub in Antwerp", "account.intelligence.0.fact"),
        subject="SupplyChain Live 2027: worth a quick chat?",
    )

    assert check_grounding(draft, CONTEXT, max_words=150) == []


def test_a_fact_citing_a_source_the_context_lacks_is_rejected() -> None:
    draft = answer("Hello Maya,", ("Raised 40 million", "account.funding"))

    problems = check_grounding(draft, CONTEXT, max_words=150)

    assert problems == [
        "the fact 'Raised 40 million' cites 'account.funding', which is not in the context"
    ]


def test_a_fact_that_misstates_its_source_is_rejected() -> None:
    draft = answer("Hello Maya,", ("Title: Chief Executive", "contact.title"))

    problems = check_grounding(draft, CONTEXT, max_words=150)

    assert problems == [
        "the fact 'Title: Chief Executive' does not match contact.title in the context"
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hello Maya, congrats on 45 new stores.", "the body mentions the number 45"),
        ("Hello Maya, see you on March 3.", "the body mentions the date 03-03"),
        ("Hello Maya, see you on 2027-02-01.", "the body mentions the date 2027-02-01"),
        ("Hello Maya, how is the Acme merger going?", "the body names 'Acme'"),
        ("Hello Maya, I spoke with John Smith.", "the body names 'John'"),
    ],
)
def test_numbers_dates_and_names_absent_from_the_context_are_rejected(
    body: str, expected: str
) -> None:
    problems = check_grounding(answer(body), CONTEXT, max_words=150)

    assert any(p.startswith(expected) for p in problems), problems


def test_sentence_starts_meeting_lengths_and_dates_of_the_context_are_not_claims() -> None:
    body = (
        "Hello Maya,\n\nCould we find 30 minutes at SupplyChain Live 2027 on Jan 21? "
        "Teams at Logistics companies like yours (2,300 people) save hours. "
        "January 21, 2027 is close."
    )

    assert check_grounding(answer(body), CONTEXT, max_words=150) == []


@pytest.mark.parametrize(
    "text", ["Hi [First Name],", "Hi {{first_name}},", "Dear <Company> team,", "Hi {name},"]
)
def test_placeholders_are_rejected(text: str) -> None:
    problems = check_grounding(answer(text), CONTEXT, max_words=150)

    assert placeholders_in(text)
    assert any("placeholder" in p for p in problems), problems


def test_a_body_over_the_word_limit_is_rejected() -> None:
    body = "Hello Maya, " + "this is a long note " * 10

    problems = check_grounding(answer(body), CONTEXT, max_words=30)

    assert problems == ["the body has 52 words, over the limit of 30"]


def test_instruction_keys_are_not_facts() -> None:
    problems = check_grounding(answer("Hello Maya, in 150 words:"), CONTEXT, max_words=150)

    assert problems == ["the body mentions the number 150, which is not in the context"]


def _contexts() -> list[dict[str, Any]]:
    contexts = []
    for channel, words in (("email", 150), ("linkedin", 60), ("other", 90)):
        for tone in ("professional", "friendly", "casual"):
            contexts.append({**CONTEXT, "channel": channel, "tone": tone, "max_words": words})
    signal = {**CONTEXT["opportunity"], "kind": "signal", "title": "Series C funding announced"}
    contexts.append({**CONTEXT, "opportunity": signal})
    contexts.append({k: v for k, v in CONTEXT.items() if k not in ("opportunity", "account")})
    return contexts


@pytest.mark.parametrize("context", _contexts())
def test_every_sandbox_draft_passes_and_every_spoiled_one_is_caught(
    context: dict[str, Any],
) -> None:
    limit = context["max_words"]
    for seed in range(40):
        clean = write_draft(PromptContext(context), random.Random(seed)).as_values()
        assert check_grounding(clean, context, max_words=limit) == [], clean
        for fault in DRAFT_FAULTS:
            spoiled = spoil_draft(clean, PromptContext(context), fault)
            assert check_grounding(spoiled, context, max_words=limit), (fault, spoiled)


@pytest.mark.parametrize("kind", ["reminder", "value_add", "check_in", "escalation"])
def test_every_sandbox_followup_passes(kind: str) -> None:
    original = {"subject": "An idea for Northwind Logistics", "body": "Hello Maya, ..."}
    context = {**CONTEXT, "followup": {"type": kind, "attempt": 2, "original": original}}
    for seed in range(20):
        draft = write_followup(PromptContext(context), random.Random(seed)).as_values()
        assert check_grounding(draft, context, max_words=150) == [], draft
