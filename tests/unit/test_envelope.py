"""The task envelope (contract): schema file, validation reasons, aliases."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from shared.agent_types import AgentType, canonical_agent_type
from shared.envelope import TaskEnvelope, envelope_schema, parse_envelope
from shared.errors import InvalidMessage

pytestmark = pytest.mark.unit

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "shared/schemas/task_envelope.v1.json"


def _envelope(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schema_version": 1,
        "task_id": str(uuid.uuid4()),
        "tenant_id": str(uuid.uuid4()),
        "agent_type": "outreach",
        "task_type": "draft_outreach",
        "priority": "high",
        "input": {"contact_id": str(uuid.uuid4())},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def test_schema_file_is_a_valid_json_schema_and_the_one_used() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    assert envelope_schema() == schema


def test_a_valid_envelope_parses_with_canonical_agent_type() -> None:
    raw = _envelope(agent_type="email_drafter", trace_id="abc")
    envelope = parse_envelope(raw)
    assert envelope.agent_type is AgentType.OUTREACH
    assert envelope.task_id == uuid.UUID(raw["task_id"])
    assert envelope.to_json_dict()["agent_type"] == "outreach"


def test_json_text_is_accepted_and_bad_json_is_a_clear_error() -> None:
    assert parse_envelope(json.dumps(_envelope())).task_type == "draft_outreach"
    with pytest.raises(InvalidMessage, match="not valid JSON"):
        parse_envelope("{nope")


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (_envelope(schema_version=2), "unsupported version 2"),
        (_envelope(agent_type="astrologer"), "agent_type: 'astrologer' is not one of"),
        (_envelope(task_type=...), "'task_type' is a required property"),
        (_envelope(task_id="123"), "task_id: '123' does not match"),
        (_envelope(priority="soon"), "priority: 'soon' is not one of"),
        (_envelope(extra=1), "Additional properties are not allowed ('extra' was unexpected)"),
        (_envelope(task_type="source_leads"), "not handled by agent type 'outreach'"),
        ([1, 2], "is not of type 'object'"),
    ],
)
def test_invalid_envelopes_name_what_is_wrong(raw: object, needle: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_envelope(raw)
    assert needle in caught.value.reason


def test_invalid_envelope_still_carries_readable_ids() -> None:
    raw = _envelope(schema_version=9)
    with pytest.raises(InvalidMessage) as caught:
        parse_envelope(raw)
    assert caught.value.task_id == raw["task_id"]
    assert caught.value.tenant_id == raw["tenant_id"]


def test_every_alias_and_canonical_name_resolves() -> None:
    assert canonical_agent_type("research") is AgentType.ENRICHMENT
    assert canonical_agent_type("planning") is AgentType.SCORING
    assert canonical_agent_type("followup") is AgentType.FOLLOWUP
    with pytest.raises(ValueError, match="unknown agent type"):
        canonical_agent_type("sales_bot")


def test_schema_enum_lists_exactly_the_types_and_aliases() -> None:
    allowed = set(envelope_schema()["properties"]["agent_type"]["enum"])
    assert allowed == {t.value for t in AgentType} | {"research", "planning", "email_drafter"}
    assert TaskEnvelope.model_fields.keys() == set(envelope_schema()["properties"])
