"""Per-task-type input validation."""

from __future__ import annotations

import uuid

import pytest

from shared.agent_types import AgentType
from shared.task_inputs import DraftOutreachInput, InputInvalid, validate_task_input

pytestmark = pytest.mark.unit


def test_outreach_input_defaults() -> None:
    contact = uuid.uuid4()
    parsed = validate_task_input(AgentType.OUTREACH, "draft_outreach", {"contact_id": str(contact)})
    assert isinstance(parsed, DraftOutreachInput)
    assert parsed.contact_id == contact
    assert parsed.channel.value == "email"
    assert parsed.tone == "professional"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "contact_id"),
        ({"contact_id": "x"}, "contact_id"),
        ({"contact_id": str(uuid.uuid4()), "channel": "fax"}, "channel"),
        ({"contact_id": str(uuid.uuid4()), "tone": "angry"}, "tone"),
        ({"contact_id": str(uuid.uuid4()), "max_words": 5}, "max_words"),
        ({"contact_id": str(uuid.uuid4()), "bogus": 1}, "bogus"),
    ],
)
def test_bad_inputs_name_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(InputInvalid) as caught:
        validate_task_input(AgentType.OUTREACH, "draft_outreach", raw)
    assert f"input.{field}" in str(caught.value)
    assert caught.value.errors[0]["field"] == field


def test_task_types_not_yet_available_are_refused_clearly() -> None:
    with pytest.raises(InputInvalid, match="not available in this release"):
        validate_task_input(AgentType.LEAD_SOURCE, "source_leads", {})
