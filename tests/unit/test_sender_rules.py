"""The sender's plain rules: reading a send request, which SMTP failures are permanent, the
retry backoff and when a capped mailbox opens again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import InvalidMessage
from shared.sending.caps import next_utc_midnight
from shared.sending.queue import SendRequest
from shared.sending.smtp import SmtpFailure
from shared.settings import Settings
from workers.sender.requests import parse_send_request
from workers.sender.settlements import retry_delay

pytestmark = pytest.mark.unit

REQUEST = SendRequest(uuid.uuid4(), uuid.uuid4(), f"send:{uuid.uuid4()}")


def test_a_send_request_reads_back_what_the_queue_wrote() -> None:
    assert parse_send_request(REQUEST.to_json_dict()) == REQUEST


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("send:123", "not a JSON object"),
        ({**REQUEST.to_json_dict(), "schema_version": 9}, "schema_version 9"),
        ({**REQUEST.to_json_dict(), "tenant_id": None}, "'tenant_id' is missing"),
        ({**REQUEST.to_json_dict(), "send_id": "x"}, "not a UUID"),
        ({**REQUEST.to_json_dict(), "dedup_key": "task:1"}, "not a send key"),
    ],
)
def test_a_malformed_send_request_is_invalid_with_its_reason(raw: Any, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        parse_send_request(raw)


@pytest.mark.parametrize(
    ("failure", "permanent"),
    [
        (SmtpFailure("RCPT TO", "No such user", code=550), True),
        (SmtpFailure("RCPT TO", "Mailbox busy", code=451), False),
        (SmtpFailure("connect", "ConnectionRefusedError"), False),
        (SmtpFailure("STARTTLS", "not offered by the server", permanent=True), True),
    ],
)
def test_only_5xx_replies_and_configuration_errors_are_permanent(
    failure: SmtpFailure, permanent: bool
) -> None:
    assert failure.permanent is permanent


def test_retries_back_off_exponentially_from_the_base() -> None:
    settings = Settings(encryption_key="k" * 32, sender_retry_base_s=60)

    delays = [retry_delay(settings, attempts) for attempts in (1, 2, 3, 4)]

    assert delays == [timedelta(seconds=s) for s in (60, 120, 240, 480)]


def test_a_capped_mailbox_opens_again_at_the_next_utc_midnight() -> None:
    late = datetime(2030, 12, 31, 23, 59, 59, tzinfo=UTC)

    assert next_utc_midnight(late) == datetime(2031, 1, 1, tzinfo=UTC)
    assert next_utc_midnight(datetime(2031, 1, 1, tzinfo=UTC)) == datetime(2031, 1, 2, tzinfo=UTC)
