"""Per-task-type input validation."""

from __future__ import annotations

import uuid

import pytest

from shared.agent_types import AgentType
from shared.task_inputs import (
    DraftOutreachInput,
    EnrichAccountInput,
    InputInvalid,
    validate_task_input,
)

pytestmark = pytest.mark.unit


def test_outreach_input_defaults() -> None:
    contact = uuid.uuid4()
    parsed = validate_task_input(AgentType.OUTREACH, "draft_outreach", {"contact_id": str(contact)})
    assert isinstance(parsed, DraftOutreachInput)
    assert parsed.contact_id == contact
    assert parsed.channel.value == "email"
    assert parsed.tone is None  # the agent's messageTone applies


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


@pytest.mark.parametrize(
    ("agent_type", "task_type", "raw"),
    [
        (AgentType.LEAD_SOURCE, "source_leads", {}),
        (AgentType.ENRICHMENT, "enrich_account", {"account_id": str(uuid.uuid4())}),
        (AgentType.CONTACT_FINDER, "find_contacts", {"account_id": str(uuid.uuid4())}),
        (AgentType.SCORING, "score_records", {"account_id": str(uuid.uuid4())}),
        (AgentType.FOLLOWUP, "draft_followup", {"draft_id": str(uuid.uuid4())}),
    ],
)
def test_every_task_type_has_an_input_model(
    agent_type: AgentType, task_type: str, raw: dict[str, object]
) -> None:
    assert validate_task_input(agent_type, task_type, raw) is not None


def test_a_pipeline_step_names_its_run() -> None:
    run_id = uuid.uuid4()
    raw = {"account_id": str(uuid.uuid4()), "pipeline": {"run_id": str(run_id)}}
    parsed = validate_task_input(AgentType.ENRICHMENT, "enrich_account", raw)
    assert isinstance(parsed, EnrichAccountInput)
    assert parsed.pipeline is not None
    assert parsed.pipeline.run_id == run_id
    with pytest.raises(InputInvalid, match=r"input\.pipeline\.run_id"):
        validate_task_input(AgentType.ENRICHMENT, "enrich_account", {**raw, "pipeline": {}})
