"""The sandbox's stand-in reply classifier: keyword rules, bounce types and return dates,
and the answer it gives to the follow-up agent's classification prompt."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest
from jsonschema import Draft202012Validator

from services.sandbox.content import answer_json
from services.sandbox.replies import find_return_date, read_reply
from shared.db.models import InboundReply
from workers.followup.reply_prompt import REPLY_SCHEMA, build_reply_messages, reply_facts

pytestmark = pytest.mark.unit

RECEIVED = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("subject", "body", "sender", "category"),
    [
        ("Re: Intro", "Sounds good, let's talk on Tuesday.", "maya@x.example", "interested"),
        ("Re: Intro", "Happy to book a call next week.", "maya@x.example", "interested"),
        ("Re: Intro", "I'm interested, send details.", "maya@x.example", "interested"),
        ("Re: Intro", "Not interested, thanks.", "maya@x.example", "not_now"),
        ("Re: Intro", "Maybe next quarter, it is not a priority.", "maya@x.example", "not_now"),
        ("Re: Intro", "Who are you?", "maya@x.example", "not_now"),
        ("Re: Intro", "Please remove me from your list.", "maya@x.example", "unsubscribe"),
        ("Unsubscribe", "", "maya@x.example", "unsubscribe"),
        ("Automatic reply: Intro", "I am on leave.", "maya@x.example", "out_of_office"),
        ("Out of Office", "Back soon.", "maya@x.example", "out_of_office"),
        ("Delivery Status Notification (Failure)", "5.1.1 user unknown", "x", "bounce"),
        ("Undeliverable: Intro", "Your message to maya could not be delivered.", "x", "bounce"),
        ("Returned mail", "see transcript", "MAILER-DAEMON@mx.example", "bounce"),
    ],
)
def test_the_first_matching_rule_decides(
    subject: str, body: str, sender: str, category: str
) -> None:
    assert read_reply(subject, body, sender, RECEIVED).category == category


def test_words_inside_other_words_do_not_count() -> None:
    reading = read_reply("Re: Intro", "I recall we booked nothing.", "maya@x.example", RECEIVED)

    assert (reading.category, reading.confidence) == ("not_now", 0.5)


@pytest.mark.parametrize(
    ("body", "bounce_type"),
    [
        ("Remote server said: 550 5.1.1 The email account does not exist", "hard"),
        ("452 4.2.2 The recipient's mailbox is over quota", "soft"),
        ("Delivery failed: mailbox full", "soft"),
        ("Delivery failed: address not found", "hard"),
    ],
)
def test_bounces_are_hard_or_soft(body: str, bounce_type: str) -> None:
    reading = read_reply("Undeliverable", body, "postmaster@mx.example", RECEIVED)

    assert (reading.category, reading.bounce_type) == ("bounce", bounce_type)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Out of office until 2026-12-03.", date(2026, 12, 3)),
        ("Back at my desk on 2026-12-03T09:00.", date(2026, 12, 3)),
        ("I am away until December 3 with limited access.", date(2026, 12, 3)),
        ("Back on Dec. 3rd, 2027.", date(2027, 12, 3)),
        ("Returning on the 3rd of December.", date(2026, 12, 3)),
        ("On leave until 15 January.", date(2027, 1, 15)),
        ("Away until November 20.", date(2026, 11, 20)),
        ("Away until February 30, then on leave until March 2.", date(2027, 3, 2)),
        ("I am on leave for a while.", None),
    ],
)
def test_return_dates_are_read_and_completed_with_a_year(text: str, expected: date | None) -> None:
    assert find_return_date(text, RECEIVED) == expected


def test_an_out_of_office_notice_carries_its_return_date() -> None:
    reading = read_reply("Automatic reply", "Out of office until December 3.", "m@x", RECEIVED)

    assert (reading.category, reading.out_of_office_until) == ("out_of_office", date(2026, 12, 3))


def test_the_classification_prompt_gets_a_schema_valid_classification() -> None:
    reply = InboundReply(
        id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        dedup_key="k",
        from_address="maya@x.example",
        subject="Automatic reply: Intro",
        body="I am out of the office until January 8 and will reply then.",
        received_at=datetime(2026, 12, 20, 8, 30, tzinfo=UTC),
    )
    messages = [
        {"role": m.role, "content": m.content}
        for m in build_reply_messages(reply_facts(reply, None))
    ]

    answer = json.loads(answer_json(messages, REPLY_SCHEMA, seed=7))

    assert list(Draft202012Validator(REPLY_SCHEMA).iter_errors(answer)) == []
    assert answer["category"] == "out_of_office"
    assert answer["out_of_office_until"] == "2027-01-08"
    assert answer["bounce_type"] is None
