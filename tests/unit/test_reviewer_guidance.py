"""Summarising reviewers' rejections and edits into guidance, and where it goes in the prompt."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.sandbox.context import context_from_messages
from shared.guidance import DraftText, Edit, Review, edit_from_content, summarise_reviews
from shared.guidance.summary import MAX_LINE_CHARS, MAX_LINES
from workers.followup.prompt import FOLLOWUP_PROMPT
from workers.outreach.prompt import (
    GUIDANCE_HEADING,
    OUTREACH_PROMPT,
    DraftPrompt,
    build_messages,
)

pytestmark = pytest.mark.unit

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FILLER = (
    "Your team at {company} has grown quickly this year and the new warehouse in {city} "
    "looks busy. We help logistics teams plan shifts, routes and loading docks in one place, "
    "and most of them see results within the first month of using it. "
)


def at(minute: int) -> datetime:
    return START + timedelta(minutes=minute)


def rejection(reason: str, minute: int) -> Review:
    return Review(uuid.uuid4(), at(minute), rejection_reason=reason)


def edit(
    before: str, after: str, minute: int, subjects: tuple[str | None, str | None] = (None, None)
) -> Review:
    original, edited = DraftText(subjects[0], before), DraftText(subjects[1], after)
    return Review(uuid.uuid4(), at(minute), edit=Edit(original, edited))


def long_body(name: str, company: str, city: str) -> str:
    return (
        f"Hi {name},\nI hope this email finds you well. "
        + FILLER.format(company=company, city=city) * 2
        + "Would a short call next Tuesday work?"
    )


def short_body(name: str, company: str) -> str:
    return f"Hi {name},\n{company} is hiring fast. Would a short call next Tuesday work?"


def summary(reviews: list[Review], since: datetime | None = None, window: int = 20) -> list[str]:
    return summarise_reviews(reviews, since=since, window=window).lines


def test_rejection_reasons_are_grouped_whatever_their_case_and_punctuation() -> None:
    reviews = [
        rejection("Too long.", 1),
        rejection("too long", 2),
        rejection("  TOO   long!! ", 3),
        rejection("Wrong person", 4),
        rejection("too long", 5),
        rejection("no reason given", 6),
        rejection("No reason given.", 7),
    ]

    guidance = summarise_reviews(reviews, since=None, window=20)

    assert guidance.lines == [
        "Reviewers rejected 4 recent drafts as 'too long'",
        "Reviewers rejected 2 recent drafts as 'No reason given'",
        "A reviewer rejected a recent draft as 'Wrong person'",
    ]
    assert (guidance.rejections, guidance.edits) == (7, 0)


def test_a_blank_reason_is_not_a_decision_to_learn_from() -> None:
    guidance = summarise_reviews([rejection("  ", 1), rejection("...", 2)], since=None, window=5)

    assert (guidance.lines, guidance.rejections, guidance.item_ids) == ([], 0, [])


def test_consistently_shortened_bodies_give_a_target_length() -> None:
    reviews = [
        edit(long_body("Maya", "Northwind", "Leeds"), short_body("Maya", "Northwind"), 1),
        edit(long_body("Tom", "Acme", "Lyon"), short_body("Tom", "Acme"), 2),
    ]

    lines = summary(reviews)

    assert lines[0] == (
        "Reviewers shortened the body by 87% on average in 2 of 2 edits (about 102 to 13 "
        "words); aim for about 13 words"
    )
    assert (
        "Avoid: 'We help logistics teams plan shifts, routes and loading docks in one place…' "
        "(reviewers removed it from 2 drafts)"
    ) in lines


def test_length_changes_in_both_directions_or_small_ones_are_no_trend() -> None:
    base = "one two three four five six seven eight nine ten"
    mixed = [
        edit(long_body("Maya", "Northwind", "Leeds"), short_body("Maya", "Northwind"), 1),
        edit(short_body("Tom", "Acme"), long_body("Tom", "Acme", "Lyon"), 2),
    ]
    small = [edit(base, base + " eleven", 1), edit(base, "two three four five six", 2)]

    assert not [line for line in summary(mixed) if "body" in line]
    assert not [line for line in summary(small) if "body" in line]


def test_phrases_removed_from_several_drafts_are_to_be_avoided() -> None:
    reviews = [
        edit(
            "Hi Maya,\nI hope this email finds you well. Northwind is hiring drivers.",
            "Hi Maya,\nNorthwind is hiring drivers. Best regards, Sam",
            1,
        ),
        edit(
            "Hello Tom, I hope this email finds you well! Acme opened a depot.",
            "Hello Tom, Acme opened a depot. Best regards, Sam",
            2,
        ),
        edit("Hi Ann, Globex is moving offices.", "Hi Ann, Globex is moving offices.", 3),
    ]

    lines = summary(reviews)

    assert "Avoid: 'I hope this email finds you well' (reviewers removed it from 2 drafts)" in (
        lines
    )
    assert "Reviewers often add: 'Best regards, Sam' (in 2 edits)" in lines
    assert not [line for line in lines if "Northwind" in line or "Acme" in line]


def test_rewritten_subjects_are_described_by_their_length() -> None:
    reviews = [
        edit("Hi.", "Hi.", 1, ("A quick question about your warehouse expansion plans", "Docks")),
        edit("Hi.", "Hi.", 2, ("Following up on the new Leeds depot opening soon", "Leeds")),
        edit("Hi.", "Hi.", 3, ("Shift planning", "Shift planning")),
    ]

    lines = summary(reviews)

    assert lines == [
        "Subject lines were rewritten in 2 of 3 edits (about 8 to 1 word); keep them short "
        "and specific, about 1 word"
    ]


def test_subjects_rewritten_at_the_same_length_are_shown_by_the_latest_example() -> None:
    reviews = [
        edit("Hi.", "Hi.", 1, ("Quick question", "Loading docks")),
        edit("Hi.", "Hi.", 2, ("Checking in", "Leeds depot")),
    ]

    assert summary(reviews) == [
        "Subject lines were rewritten in 2 of 2 edits; e.g. 'Checking in' became 'Leeds depot'"
    ]


def test_nothing_is_learned_from_a_single_edit() -> None:
    single = edit(
        long_body("Maya", "Northwind", "Leeds"),
        short_body("Maya", "Northwind"),
        1,
        ("A long subject line about many different things", "Drivers"),
    )

    assert summary([single]) == []


def test_only_decisions_after_clearing_and_the_newest_window_count() -> None:
    cleared_at = at(10)
    reviews = [
        rejection("too long", 1),
        rejection("too long", 2),
        rejection("too long", 9),
        rejection("too formal", 11),
        rejection("Too formal", 12),
        rejection("too formal", 13),
        rejection("wrong contact", 14),
    ]

    after_clearing = summarise_reviews(reviews, since=cleared_at, window=20)
    newest_two = summarise_reviews(reviews, since=cleared_at, window=2)

    assert after_clearing.lines == [
        "Reviewers rejected 3 recent drafts as 'too formal'",
        "A reviewer rejected a recent draft as 'wrong contact'",
    ]
    assert after_clearing.based_on()["since"] == at(11).isoformat()
    assert after_clearing.item_ids == [r.item_id for r in reversed(reviews[3:])]
    assert newest_two.lines == [
        "A reviewer rejected a recent draft as 'wrong contact'",
        "A reviewer rejected a recent draft as 'too formal'",
    ]
    assert summarise_reviews([], since=cleared_at, window=5).based_on() == {
        "rejections": 0,
        "edits": 0,
        "since": cleared_at.isoformat(),
        "item_ids": [],
    }


def test_guidance_stays_short() -> None:
    reasons = [f"reason {n}: the draft is {'very ' * 60}long" for n in range(10)]
    repeated, once = reasons[:5] * 2, reasons[5:]
    reviews = [rejection(reason, minute) for minute, reason in enumerate(repeated + once)]

    lines = summary(reviews)

    assert len(lines) == MAX_LINES
    assert all(len(line) <= MAX_LINE_CHARS for line in lines)
    assert all(line.endswith("very…'") for line in lines)
    assert [line.split(":")[0] for line in lines] == [
        "Reviewers rejected 2 recent drafts as 'reason 4",
        "Reviewers rejected 2 recent drafts as 'reason 3",
        "Reviewers rejected 2 recent drafts as 'reason 2",
        "A reviewer rejected a recent draft as 'reason 9",
        "A reviewer rejected a recent draft as 'reason 8",
        "A reviewer rejected a recent draft as 'reason 7",
    ]


def test_an_edit_reads_its_original_or_falls_back_to_the_item_content() -> None:
    recorded = {
        "subject": "New",
        "body": "Edited body",
        "original": {"subject": "Old", "body": "Agent body"},
        "diff": "--- original\n+++ edited\n",
        "changed": ["subject", "body"],
    }
    item_content = {"channel": "email", "subject": "Item subject", "body": "Item body"}

    full = edit_from_content(recorded, item_content)
    without_original = edit_from_content({"subject": None, "body": "Edited"}, item_content)

    assert full == Edit(DraftText("Old", "Agent body"), DraftText("New", "Edited body"))
    assert without_original == Edit(
        DraftText("Item subject", "Item body"), DraftText(None, "Edited")
    )
    assert edit_from_content(None, item_content) is None
    assert edit_from_content({"subject": "only"}, item_content) is None


@pytest.mark.parametrize("prompt", [OUTREACH_PROMPT, FOLLOWUP_PROMPT], ids=["outreach", "followup"])
def test_guidance_is_a_delimited_part_of_the_system_prompt_not_a_context_fact(
    prompt: DraftPrompt,
) -> None:
    facts = {"channel": "email", "tone": "friendly", "contact": {"first_name": "Maya"}}
    lines = ["Reviewers rejected 3 recent drafts as 'too long'", "Avoid: 'I hope you are well'"]

    plain = build_messages(prompt, facts, "Write.")
    guided = build_messages(prompt, facts, "Write.", guidance=lines)

    assert plain[0].content == prompt.system
    assert guided[1] == plain[1]
    system = guided[0].content
    assert system.startswith(prompt.system)
    block = system[system.index("<reviewer_guidance>") : system.index("</reviewer_guidance>")]
    assert f"{GUIDANCE_HEADING}\n- {lines[0]}\n- {lines[1]}\n" in block
    wire = [{"role": m.role, "content": m.content} for m in guided]
    assert context_from_messages(wire).text("contact.first_name") == "Maya"
    assert "too long" not in guided[1].content
