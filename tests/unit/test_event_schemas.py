"""The event schemas (contract): one file per event type, in step with the code's enums, and
holding events built by the code's own event builders to their exact shape."""

from __future__ import annotations

import fnmatch
import tomllib
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from shared.agent_types import TASK_TYPES, AgentType
from shared.contract.event_schemas import (
    ENVELOPE_FILE,
    EventSchemaError,
    envelope_schema,
    event_problems,
    event_schema,
    event_schema_file,
    event_schema_files,
    validate_event,
)
from shared.db.models import (
    ApprovalItemType,
    Channel,
    MessageSend,
    OutreachStatus,
    SuppressionReason,
    Task,
)
from shared.domain.followups import followup_scheduled
from shared.domain.tasks import task_event
from shared.events import Event, EventType
from shared.lifecycles import (
    AgentStatus,
    DraftStatus,
    ReplyCategory,
    SendStatus,
    TaskPriority,
    TaskStatus,
    TaskTrigger,
)
from shared.sending.records import send_event

pytestmark = pytest.mark.unit

REPOSITORY = Path(__file__).resolve().parents[2]
ENVELOPE_ID = "urn:agentfleet:schema:event-envelope:1"
TENANT = uuid.uuid4()


def _defs_enum(name: str) -> list[Any]:
    values: list[Any] = envelope_schema()["$defs"][name]["enum"]
    return values


def test_there_is_one_schema_file_per_event_type_and_no_other() -> None:
    expected = {event_schema_file(event_type) for event_type in EventType} | {ENVELOPE_FILE}
    on_disk = {p.name for p in (REPOSITORY / "shared/schemas/events").glob("*")}

    assert on_disk == expected
    assert set(event_schema_files()) == expected


@pytest.mark.parametrize("event_type", list(EventType), ids=str)
def test_each_file_is_the_envelope_refined_for_its_type(event_type: EventType) -> None:
    schema = event_schema(event_type)

    Draft202012Validator.check_schema(schema)
    # AsyncAPI reads schemas as JSON Schema draft-07: they must mean the same there.
    Draft7Validator.check_schema(schema)
    assert schema["$id"] == f"urn:agentfleet:schema:event:{event_type.value}:1"
    assert schema["allOf"] == [{"$ref": ENVELOPE_ID}]
    assert schema["properties"]["event_type"] == {"const": event_type.value}
    aggregate = schema["properties"]["aggregate_type"]["const"]
    assert aggregate in envelope_schema()["properties"]["aggregate_type"]["enum"]
    assert schema["description"]


def test_the_envelope_names_every_event_type_in_order() -> None:
    schema = envelope_schema()

    Draft202012Validator.check_schema(schema)
    Draft7Validator.check_schema(schema)
    assert schema["properties"]["event_type"]["enum"] == [t.value for t in EventType]


@pytest.mark.parametrize(
    ("definition", "enum"),
    [
        ("agent_type", AgentType),
        ("task_trigger", TaskTrigger),
        ("priority", TaskPriority),
        ("agent_status", AgentStatus),
        ("draft_status", DraftStatus),
        ("channel", Channel),
        ("approval_item_type", ApprovalItemType),
        ("send_status", SendStatus),
        ("reply_category", ReplyCategory),
        ("outreach_status", OutreachStatus),
        ("suppression_reason", SuppressionReason),
    ],
)
def test_enumerations_match_the_code(definition: str, enum: type[StrEnum]) -> None:
    assert _defs_enum(definition) == [member.value for member in enum]


def test_task_types_and_their_agents_match_the_code() -> None:
    assert set(_defs_enum("task_type")) == {t for types in TASK_TYPES.values() for t in types}
    pairs = envelope_schema()["$defs"]["task_of_agent"]["allOf"]
    declared = {
        rule["if"]["properties"]["agent_type"]["const"]: set(
            rule["then"]["properties"]["task_type"]["enum"]
        )
        for rule in pairs
    }
    assert declared == {agent.value: set(types) for agent, types in TASK_TYPES.items()}


def _open_objects(node: Any, path: str, found: list[str]) -> None:
    if isinstance(node, list):
        for index, item in enumerate(node):
            _open_objects(item, f"{path}/{index}", found)
        return
    if not isinstance(node, dict):
        return
    if "properties" in node and node.get("additionalProperties") is not False:
        found.append(path)
    for key, value in node.items():
        _open_objects(value, f"{path}/{key}", found)


@pytest.mark.parametrize("event_type", list(EventType), ids=str)
def test_payload_objects_are_closed(event_type: EventType) -> None:
    """Every object a payload describes lists its keys: a key the code does not write fails."""
    found: list[str] = []
    _open_objects(event_schema(event_type)["$defs"], "$defs", found)
    # The top level only refines the envelope's properties, and conditions (if/then) narrow
    # properties without listing them all.
    assert [p for p in found if "/if" not in p and "/then" not in p] == []


def test_the_package_data_ships_every_schema_file() -> None:
    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["shared"]
    shipped = [
        str(path.relative_to(REPOSITORY / "shared"))
        for path in (REPOSITORY / "shared/schemas").rglob("*.json")
    ]
    assert shipped
    assert [p for p in shipped if not any(fnmatch.fnmatch(p, pat) for pat in patterns)] == []


def _task(**values: Any) -> Task:
    defaults: dict[str, Any] = {
        "id": uuid.uuid4(),
        "tenant_id": TENANT,
        "agent_type": "followup",
        "task_type": "draft_followup",
        "status": TaskStatus.PENDING.value,
        "trigger": TaskTrigger.EVENT.value,
        "trace_id": uuid.uuid4().hex,
    }
    return Task(**(defaults | values))


def _send(**values: Any) -> MessageSend:
    draft_id = uuid.uuid4()
    defaults: dict[str, Any] = {
        "id": uuid.uuid4(),
        "tenant_id": TENANT,
        "draft_id": draft_id,
        "contact_id": uuid.uuid4(),
        "channel": Channel.EMAIL.value,
        "status": SendStatus.DEFERRED.value,
        "message_id": f"<{draft_id}.send@example.com>",
        "to_address": "maya@example.com",
        "from_address": "sales@example.com",
    }
    return MessageSend(**(defaults | values))


NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def test_events_built_by_the_code_conform() -> None:
    parent = _task(agent_type="outreach", task_type="draft_outreach", status="completed")
    held = _task()
    events = [
        task_event(held, EventType.TASK_QUEUED, trigger=held.trigger),
        task_event(_task(status="in_progress"), EventType.TASK_STARTED, attempt=1),
        task_event(
            _task(status="cancelled"),
            EventType.TASK_CANCELLED,
            reason="contact replied",
            reply_id=str(uuid.uuid4()),
        ),
        task_event(held, EventType.TASK_DEFERRED, until=NOW.isoformat(), reason="daily limit"),
        followup_scheduled(
            parent, held, draft_id=str(uuid.uuid4()), attempt=2, due_at=NOW, agent_id=None
        ),
        send_event(_send(), EventType.MESSAGE_DEFERRED, not_before=NOW.isoformat(), reason="4xx"),
        send_event(
            _send(status=SendStatus.OUTCOME_UNKNOWN.value),
            EventType.MESSAGE_OUTCOME_UNKNOWN,
            reason="connection lost after DATA",
            from_address="sales@example.com",
            attempts=1,
        ),
    ]
    for event in events:
        assert event_problems(event.to_message()) == [], event.event_type


def _valid_deferred() -> dict[str, Any]:
    event = send_event(
        _send(), EventType.MESSAGE_DEFERRED, not_before=NOW.isoformat(), reason="daily cap"
    )
    return event.to_message()


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda m: m["payload"].update(extra=1), "Additional properties"),
        (lambda m: m["payload"].pop("message_id"), "'message_id' is a required property"),
        (lambda m: m["payload"].update(status="sent"), "'deferred' was expected"),
        (lambda m: m["payload"].update(not_before="2026-11-21T10:00:00"), "is not a 'date-time'"),
        (lambda m: m["payload"].update(draft_id="not-a-uuid"), "does not match"),
        (lambda m: m.update(aggregate_type="task"), "'message_send' was expected"),
        (lambda m: m.update(occurred_at="2026-11-21T10:00:00+01:00"), "does not match 'Z$'"),
        (lambda m: m.update(schema_version=2), "1 was expected"),
    ],
)
def test_a_payload_off_its_schema_is_named(change: Any, needle: str) -> None:
    message = _valid_deferred()
    assert event_problems(message) == []
    change(message)

    with pytest.raises(EventSchemaError) as raised:
        validate_event(message)

    assert any(needle in problem for problem in raised.value.problems), raised.value.problems


def test_an_unknown_event_type_is_checked_against_the_envelope() -> None:
    message = Event(
        event_type=EventType.AGENT_UPDATED,
        tenant_id=TENANT,
        aggregate_type="agent",
        aggregate_id=uuid.uuid4(),
        payload={"agent_type": "outreach", "name": "Ada", "action": "deleted"},
    ).to_message()
    assert event_problems(message) == []

    message["event_type"] = "agent.renamed"

    assert any("'agent.renamed' is not one of" in p for p in event_problems(message))


def test_task_payloads_pair_agent_and_task_types() -> None:
    message = task_event(_task(), EventType.TASK_QUEUED, trigger="event").to_message()
    message["payload"]["task_type"] = "draft_outreach"

    assert event_problems(message) != []
