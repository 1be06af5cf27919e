"""Plain rules of reply handling: Message-IDs, dedup keys, verdicts read from a model's
answer, and when a follow-up stopped by an auto-response is due again."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from shared.agent_types import AgentType
from shared.envelope import parse_envelope
from shared.lifecycles import ReplyCategory
from shared.replies import (
    IncomingReply,
    ReplyVerdict,
    normalize_message_id,
    parse_return_date,
    reply_dedup_key,
    resume_at,
)
from shared.task_inputs import ClassifyReplyInput, InputInvalid, validate_task_input

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<abc.send@x.example>", "<abc.send@x.example>"),
        ("abc.send@x.example", "<abc.send@x.example>"),
        ("  <abc@x>  <def@y>", "<abc@x>"),
        ("abc@x trailing", "<abc@x>"),
        ("", None),
        (None, None),
    ],
)
def test_message_ids_are_compared_in_angle_brackets(raw: str | None, expected: str | None) -> None:
    assert normalize_message_id(raw) == expected


def test_a_reply_is_deduplicated_on_its_message_id_else_on_its_content() -> None:
    contact = uuid.uuid4()
    with_id = IncomingReply(body="Hi", received_at=NOW, message_id="r1@x")
    same_id = IncomingReply(body="Other", received_at=NOW + timedelta(hours=1), message_id="<r1@x>")
    plain = IncomingReply(body="Hi", received_at=NOW)
    later = IncomingReply(body="Hi", received_at=NOW + timedelta(seconds=1))

    assert reply_dedup_key(with_id, contact) == reply_dedup_key(same_id, contact)
    assert reply_dedup_key(with_id, contact) == "message-id:<r1@x>"
    assert reply_dedup_key(plain, contact).startswith("sha256:")
    assert reply_dedup_key(plain, contact) == reply_dedup_key(plain, contact)
    assert reply_dedup_key(plain, contact) != reply_dedup_key(later, contact)
    assert reply_dedup_key(plain, contact) != reply_dedup_key(plain, uuid.uuid4())


def test_an_out_of_office_follow_up_waits_for_the_day_after_the_return() -> None:
    original = NOW + timedelta(days=2)

    assert resume_at(original, date(2026, 12, 3), now=NOW) == datetime(
        2026, 12, 4, 9, 0, tzinfo=UTC
    )


def test_a_follow_up_due_after_the_return_keeps_its_time() -> None:
    original = datetime(2026, 12, 20, 14, 0, tzinfo=UTC)

    assert resume_at(original, date(2026, 12, 3), now=NOW) == original


def test_without_a_return_date_a_follow_up_moves_a_week() -> None:
    original = NOW + timedelta(days=2)

    assert resume_at(original, None, now=NOW) == original + timedelta(days=7)
    assert resume_at(None, None, now=NOW) == NOW + timedelta(days=7)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-03", date(2026, 12, 3)),
        ("2026-12-03T08:00:00Z", date(2026, 12, 3)),
        ("December 3", None),
        ("2026-02-30", None),
        (None, None),
        (20261203, None),
    ],
)
def test_return_dates_from_the_model_must_be_iso(value: object, expected: date | None) -> None:
    assert parse_return_date(value) == expected


def test_a_verdict_keeps_only_the_details_of_its_category() -> None:
    verdict = ReplyVerdict.from_answer(
        {
            "category": "interested",
            "confidence": 1.7,
            "out_of_office_until": "2026-12-03",
            "bounce_type": "hard",
            "summary": "Wants a call.",
        }
    )

    assert verdict.category is ReplyCategory.INTERESTED
    assert verdict.confidence == 1.0
    assert (verdict.out_of_office_until, verdict.bounce_type) == (None, None)
    assert not verdict.is_hard_bounce


@pytest.mark.parametrize(("bounce_type", "hard"), [("hard", True), ("soft", False), (None, True)])
def test_a_bounce_is_hard_unless_called_soft(bounce_type: str | None, hard: bool) -> None:
    verdict = ReplyVerdict.from_answer(
        {"category": "bounce", "confidence": 0.9, "bounce_type": bounce_type, "summary": ""}
    )

    assert verdict.is_hard_bounce is hard


def test_classify_reply_is_a_followup_task_type_with_a_reply_id() -> None:
    reply_id = uuid.uuid4()
    envelope = parse_envelope(
        {
            "schema_version": 1,
            "task_id": str(uuid.uuid4()),
            "tenant_id": str(uuid.uuid4()),
            "agent_type": "followup",
            "task_type": "classify_reply",
            "input": {"reply_id": str(reply_id)},
        }
    )

    parsed = validate_task_input(AgentType.FOLLOWUP, envelope.task_type, envelope.input)

    assert parsed == ClassifyReplyInput(reply_id=reply_id)
    with pytest.raises(InputInvalid, match=r"input\.reply_id"):
        validate_task_input(AgentType.FOLLOWUP, "classify_reply", {"reply_id": "x"})
    with pytest.raises(InputInvalid, match="not handled by agent type 'outreach'"):
        validate_task_input(AgentType.OUTREACH, "classify_reply", {"reply_id": str(reply_id)})
