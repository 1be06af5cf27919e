"""The AsyncAPI document of the broker contract: current, valid AsyncAPI 3.0, complete, and
describing the messages the code actually builds."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

from shared.agent_types import TASK_TYPES, AgentType
from shared.broker.messages import dramatiq_message_for_task
from shared.broker.topology import (
    DEAD_LETTER_QUEUE_HEADER,
    DEAD_LETTER_REASON_HEADER,
    queue_arguments,
    xq_name,
)
from shared.contract.__main__ import main as contract_main
from shared.contract.asyncapi import (
    ASYNCAPI_VERSION,
    asyncapi_source_path,
    build_asyncapi,
    committed_asyncapi,
    render_asyncapi,
)
from shared.contract.event_channel import EVENTS_CHANNEL, event_schema_component
from shared.contract.task_channels import DEAD_LETTER_REASON_MAX_LENGTH
from shared.contract.task_messages import (
    EXAMPLE_INPUTS,
    TASK_INPUT_MODELS,
    task_message_schema,
)
from shared.contract.validation import component_validator
from shared.db.models import Task
from shared.domain.tasks import task_event
from shared.envelope import TaskEnvelope, parse_envelope
from shared.events import EventType
from shared.lifecycles import TaskPriority
from shared.sending.queue import SENDER_QUEUE, SendRequest
from shared.settings import Settings
from shared.task_inputs import InputInvalid, validate_task_input
from workers.runtime.dead_letters import MAX_REASON_LENGTH
from workers.sender.requests import parse_send_request

pytestmark = pytest.mark.unit

REPOSITORY = Path(__file__).resolve().parents[2]
ENSURE_SPECS = REPOSITORY / "deploy/dev/ensure-asyncapi-specs.sh"
SPECS = REPOSITORY / ".cache/npm/node_modules/@asyncapi/specs/schemas"
AGENT_QUEUES = [agent_type.value for agent_type in AgentType]
QUEUES = [*AGENT_QUEUES, SENDER_QUEUE]
ANNOTATIONS = {"$ref", "description", "title", "default", "examples"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_asyncapi()


@pytest.fixture(scope="module")
def official_schema() -> dict[str, Any]:
    """The AsyncAPI project's JSON Schema for the document's version, fetched from npm."""
    fetched = subprocess.run(
        [str(ENSURE_SPECS)], capture_output=True, text=True, timeout=300, check=False
    )
    assert fetched.returncode == 0, fetched.stderr
    schema: dict[str, Any] = json.loads((SPECS / f"{ASYNCAPI_VERSION}.json").read_text())
    return schema


def _official_validator(schema: dict[str, Any]) -> Draft7Validator:
    registry: Registry[Any] = (
        Registry().with_resource(schema["$id"], DRAFT7.create_resource(schema)).crawl()
    )
    return Draft7Validator(schema, registry=registry)


def _nodes(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _nodes(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _nodes(item, f"{path}/{index}")


def _resolve(document: dict[str, Any], reference: str) -> Any:
    node: Any = document
    for part in reference.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_committed_document_is_what_the_generator_writes() -> None:
    generated = render_asyncapi()

    assert committed_asyncapi() == generated, "run: python -m shared.contract"
    assert asyncapi_source_path().read_text() == generated
    assert json.loads(generated) == build_asyncapi()


def test_the_document_is_valid_against_the_official_asyncapi_schema(
    document: dict[str, Any], official_schema: dict[str, Any]
) -> None:
    validator = _official_validator(official_schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]

    assert document["asyncapi"] == ASYNCAPI_VERSION
    assert (
        official_schema["$id"]
        == f"http://asyncapi.com/definitions/{ASYNCAPI_VERSION}/asyncapi.json"
    )
    assert errors == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["operations", "outreach.publish", "action"], "publish"),
        (["channels", "outreach", "bindings", "amqp", "queue", "durable"], "yes"),
        (["components", "schemas", "DramatiqMessage", "type"], "record"),
        (["components", "messages", "event.task.completed", "correlationId", "location"], "x"),
    ],
)
def test_the_official_schema_rejects_a_broken_document(
    document: dict[str, Any], official_schema: dict[str, Any], path: list[str], value: Any
) -> None:
    """The validation above is not vacuous: it reaches operations, bindings, schemas, messages."""
    broken = json.loads(json.dumps(document))
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    assert list(_official_validator(official_schema).iter_errors(broken)) != []


def test_every_reference_resolves_inside_the_document(document: dict[str, Any]) -> None:
    references = [node["$ref"] for _, node in _nodes(document) if "$ref" in node]

    assert references
    assert [r for r in references if not r.startswith("#/")] == []
    for reference in references:
        _resolve(document, reference)


def test_no_reference_carries_constraints_that_draft_07_would_ignore(
    document: dict[str, Any],
) -> None:
    ignored = [
        path
        for path, node in _nodes(document["components"]["schemas"])
        if "$ref" in node and set(node) - ANNOTATIONS
    ]
    assert ignored == []


def test_every_event_type_has_its_message_on_the_events_channel(document: dict[str, Any]) -> None:
    channel = document["channels"][EVENTS_CHANNEL]
    messages = document["components"]["messages"]
    [operation] = [
        op
        for op in document["operations"].values()
        if op["channel"]["$ref"].endswith(f"/{EVENTS_CHANNEL}")
    ]

    assert set(channel["messages"]) == {t.value for t in EventType}
    assert channel["parameters"]["eventType"]["enum"] == [t.value for t in EventType]
    assert (
        channel["bindings"]["amqp"]["exchange"]["name"]
        == Settings.model_fields["events_exchange"].default
    )
    assert operation["action"] == "send"
    assert len(operation["messages"]) == len(EventType)
    for event_type in EventType:
        message = _resolve(document, channel["messages"][event_type.value]["$ref"])
        assert message is messages[f"event.{event_type.value}"]
        assert message["name"] == event_type.value
        assert message["bindings"]["amqp"]["messageType"] == event_type.value
        assert message["payload"]["$ref"].endswith(f"/{event_schema_component(event_type)}")
    event_messages = {k for k in messages if k.startswith("event.")}
    assert event_messages == {f"event.{t.value}" for t in EventType}


def test_every_queue_is_a_channel_declared_as_the_workers_declare_it(
    document: dict[str, Any],
) -> None:
    max_priority = Settings.model_fields["broker_max_priority"].default
    channels = document["channels"]

    assert set(channels) == {*QUEUES, *(xq_name(q) for q in QUEUES), EVENTS_CHANNEL}
    for queue in QUEUES:
        binding = channels[queue]["bindings"]["amqp"]
        assert channels[queue]["address"] == queue
        assert binding["queue"]["name"] == queue
        assert binding["queue"]["durable"] is True
        assert binding["x-queue-arguments"] == queue_arguments(queue, max_priority)
        assert binding["x-queue-arguments"]["x-max-priority"] == 4
        dead = channels[xq_name(queue)]
        assert dead["address"] == f"{queue}.XQ"
        assert set(dead["bindings"]["amqp"]["x-queue-arguments"]) == {"x-message-ttl"}
        actions = {
            op["action"]
            for op in document["operations"].values()
            if op["channel"]["$ref"] == f"#/channels/{queue}"
        }
        assert actions == {"send", "receive"}
        assert {
            op["action"]
            for op in document["operations"].values()
            if op["channel"]["$ref"] == f"#/channels/{xq_name(queue)}"
        } == {"send"}
    for agent_type in AgentType:
        assert set(channels[agent_type.value]["messages"]) == set(TASK_TYPES[agent_type])


def test_dead_letters_carry_the_reason_header_the_workers_write(document: dict[str, Any]) -> None:
    headers = document["components"]["schemas"]["DeadLetterHeaders"]["properties"]

    assert set(headers) == {DEAD_LETTER_REASON_HEADER, DEAD_LETTER_QUEUE_HEADER}
    assert headers[DEAD_LETTER_REASON_HEADER]["maxLength"] == MAX_REASON_LENGTH
    assert DEAD_LETTER_REASON_MAX_LENGTH == MAX_REASON_LENGTH


def test_message_examples_match_their_payload_schemas(document: dict[str, Any]) -> None:
    checked = 0
    for message in document["components"]["messages"].values():
        component = message["payload"]["$ref"].rsplit("/", 1)[1]
        validator = component_validator(document, component)
        for example in message.get("examples", []):
            assert list(validator.iter_errors(example["payload"])) == [], example["name"]
            checked += 1
    assert checked == len(TASK_INPUT_MODELS)


@dataclass(frozen=True)
class _OutboxRow:
    destination: str
    message_id: uuid.UUID
    payload: dict[str, Any]
    created_at: datetime
    priority: int


@pytest.mark.parametrize(
    ("agent_type", "task_type"),
    [(a, t) for a in AgentType for t in sorted(TASK_TYPES[a])],
    ids=lambda value: str(value),
)
def test_task_messages_the_relay_builds_conform(
    document: dict[str, Any], agent_type: AgentType, task_type: str
) -> None:
    model = validate_task_input(agent_type, task_type, EXAMPLE_INPUTS[task_type])
    assert type(model) is TASK_INPUT_MODELS[task_type]
    envelope = TaskEnvelope(
        task_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        agent_type=agent_type,
        task_type=task_type,
        priority=TaskPriority.URGENT,
        input=model.model_dump(mode="json", exclude_none=True),
        trace_id=uuid.uuid4().hex,
    )
    row = _OutboxRow(agent_type.value, uuid.uuid4(), envelope.to_json_dict(), datetime.now(UTC), 4)
    wire = json.loads(dramatiq_message_for_task(row).encode())
    validator = component_validator(document, task_message_schema(task_type))

    assert list(validator.iter_errors(wire)) == []
    assert parse_envelope(wire["args"][0]) == envelope


@pytest.mark.parametrize("task_type", sorted(TASK_INPUT_MODELS))
def test_inputs_the_models_refuse_the_document_refuses(
    document: dict[str, Any], task_type: str
) -> None:
    [agent_type] = [a for a, types in TASK_TYPES.items() if task_type in types]
    validator = component_validator(document, task_message_schema(task_type))
    example = document["components"]["messages"][f"task.{task_type}"]["examples"][0]["payload"]
    for bad_input in ({**EXAMPLE_INPUTS[task_type], "unexpected": 1}, {"attempt": "many"}):
        message = json.loads(json.dumps(example))
        message["args"][0]["input"] = bad_input
        with pytest.raises(InputInvalid):
            validate_task_input(agent_type, task_type, bad_input)
        assert list(validator.iter_errors(message)) != []


def test_the_sender_message_is_what_the_sender_parses(document: dict[str, Any]) -> None:
    request = SendRequest(uuid.uuid4(), uuid.uuid4(), f"send:{uuid.uuid4()}")
    message: dict[str, Any] = {
        "queue_name": SENDER_QUEUE,
        "actor_name": SENDER_QUEUE,
        "args": [request.to_json_dict()],
        "kwargs": {},
        "options": {"broker_priority": 2},
    }
    validator = component_validator(document, "SenderMessage")

    assert list(validator.iter_errors(message)) == []
    assert parse_send_request(message["args"][0]) == request
    message["args"][0]["dedup_key"] = "task:1"
    assert list(validator.iter_errors(message)) != []


def test_event_components_read_the_same_as_the_schema_files(document: dict[str, Any]) -> None:
    """The document's copy (draft-07, references rewritten) accepts and refuses alike."""
    task = Task(
        id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        agent_type="scoring",
        task_type="score_records",
        status="in_progress",
        trace_id=None,
    )
    good = task_event(task, EventType.TASK_STARTED, attempt=2).to_message()
    bad = task_event(task, EventType.TASK_STARTED, attempt=0).to_message()
    validator = component_validator(document, event_schema_component(EventType.TASK_STARTED))

    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors(bad)) != []


def test_the_command_writes_the_document_and_checks_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "asyncapi.json"

    assert contract_main(["--check", "--output", str(output)]) == 1
    assert contract_main(["--output", str(output)]) == 0
    assert output.read_text() == render_asyncapi()
    assert contract_main(["--check", "--output", str(output)]) == 0
    output.write_text(output.read_text().replace("agentfleet broker contract", "edited"))
    assert contract_main(["--check", "--output", str(output)]) == 1
    assert "out of date" in capsys.readouterr().err
