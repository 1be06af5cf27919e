"""The operations commands of ``agentfleet`` against real Postgres and RabbitMQ, run in-process
through ``main([...])`` with settings from the environment, as an operator would run them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pika
import pytest
import sqlalchemy as sa

from services.cli.main import main
from services.demo.seed import SeededTarget
from shared.agents.service import create_agent
from shared.broker.topology import declare_agent_queue, xq_name
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import ActivityLogEntry, OutboxMessage, Task, UsageOutcome
from shared.domain.tasks import envelope_for, fail_task
from shared.lifecycles import TaskStatus
from shared.settings import Settings, get_settings
from shared.tenancy import CreatedKey
from shared.usage import ProviderCall, record_provider_call
from tests.support import infra
from tests.support.amqp import dramatiq_body
from tests.support.approvals import ItemSpec, load_item, make_pending_items, run_sql
from tests.support.processes import settings_environment
from workers.runtime.dead_letters import dead_letter_properties

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Ran]


@pytest.fixture(scope="module")
def cli_vhost(run_resources: infra.RunResources) -> Iterator[str]:
    """A vhost of its own, so the queues these tests inspect hold exactly what they put there."""
    vhost = f"{run_resources.vhost}-cli"
    infra.create_vhost(vhost)
    yield vhost
    infra.delete_vhost(vhost)


@pytest.fixture
def cli_settings(settings: Settings, cli_vhost: str) -> Settings:
    return settings.model_copy(update={"broker_url": infra.broker_url(cli_vhost)})


@pytest.fixture
def cli(
    cli_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Cli]:
    """``agentfleet ...`` in this process, configured only through ``AGENTFLEET_*`` variables."""
    environment = settings_environment(cli_settings)
    for name in environment:
        if name.startswith("AGENTFLEET_"):
            monkeypatch.setenv(name, environment[name])
    get_settings.cache_clear()

    def run(*argv: object) -> Ran:
        capsys.readouterr()
        try:
            code = main([str(arg) for arg in argv])
        except SystemExit as exited:  # argparse refusing the arguments
            code = int(exited.code or 0)
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    yield run
    get_settings.cache_clear()


def _channel_call(broker_url: str, action: Callable[[Any], None]) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        action(connection.channel())
    finally:
        connection.close()


def _fresh_queue(broker_url: str, queue: str) -> None:
    """``queue`` with its .DQ and .XQ declared as the workers declare them, all empty."""

    def declare(channel: Any) -> None:
        declare_agent_queue(channel, queue, 4)
        for name in (queue, f"{queue}.DQ", xq_name(queue)):
            channel.queue_purge(name)

    _channel_call(broker_url, declare)


def _park(broker_url: str, queue: str, body: bytes, reason: str, message_id: str) -> None:
    """A dead letter on ``queue``'s .XQ, with the properties the worker gives one."""

    def publish(channel: Any) -> None:
        channel.confirm_delivery()
        channel.basic_publish(
            exchange="",
            routing_key=xq_name(queue),
            body=body,
            properties=dead_letter_properties(queue, reason, message_id),
            mandatory=True,
        )

    _channel_call(broker_url, publish)


def _envelope(tenant_id: uuid.UUID, contact_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "task_id": str(uuid.uuid4()),
        "tenant_id": str(tenant_id),
        "agent_type": "outreach",
        "task_type": "draft_outreach",
        "priority": "high",
        "input": {"contact_id": str(contact_id)},
        **extra,
    }


def _outbox_rows(owner_db: Database, tenant_id: uuid.UUID) -> list[OutboxMessage]:
    with owner_db.unit_of_work() as uow:
        return list(
            uow.session.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.tenant_id == tenant_id)
                .order_by(OutboxMessage.created_at)
            )
        )


def _tasks(owner_db: Database, tenant_id: uuid.UUID) -> list[Task]:
    with owner_db.unit_of_work() as uow:
        return list(uow.session.scalars(sa.select(Task).where(Task.tenant_id == tenant_id)))


# --- submit -------------------------------------------------------------------------------


def test_submit_accepts_a_task_with_its_outbox_dispatch(
    cli: Cli, tenant: CreatedKey, targets: list[SeededTarget], owner_db: Database
) -> None:
    agent_id = uuid.uuid4()
    argv = [
        "submit",
        "--tenant",
        tenant.tenant_id,
        "--agent-type",
        "email_drafter",
        "--task-type",
        "draft_outreach",
        "--input",
        json.dumps({"contact_id": str(targets[0].contact_id), "tone": "friendly"}),
        "--priority",
        "high",
        "--agent-id",
        agent_id,
        "--idempotency-key",
        "cli-1",
        "--json",
    ]

    first = cli(*argv)
    again = cli(*argv)

    assert first.code == 0, first.err
    accepted = first.json()
    assert accepted["status"] == "pending"
    assert accepted["created"] is True
    assert again.json() == {**accepted, "created": False}
    [task] = _tasks(owner_db, tenant.tenant_id)
    assert str(task.id) == accepted["task_id"]
    assert (task.agent_type, task.priority, task.trigger) == ("outreach", "high", "manual")
    assert task.input["agent_id"] == str(agent_id)
    rows = _outbox_rows(owner_db, tenant.tenant_id)
    dispatches = [r for r in rows if r.kind == "task"]
    assert [(r.destination, r.dedup_key) for r in dispatches] == [
        ("outreach", f"task:{task.id}:dispatch")
    ]
    assert dispatches[0].payload["task_id"] == str(task.id)
    assert dispatches[0].priority == 3
    assert [r.destination for r in rows if r.kind == "event"] == ["task.queued"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"--agent-type": "closer"}, "unknown agent type 'closer'", id="agent-type"),
        pytest.param({"--input": '{"contact_id": '}, "--input is not valid JSON", id="json"),
        pytest.param({"--input": "[1, 2]"}, "--input must be a JSON object", id="not-object"),
        pytest.param({"--task-type": "find_contacts"}, "find_contacts", id="task-type"),
        pytest.param({"--tenant": str(uuid.uuid4())}, "not found", id="unknown-tenant"),
        pytest.param(
            {"--input": json.dumps({"contact_id": str(uuid.UUID(int=7))})},
            "no contact",
            id="unknown-contact",
        ),
    ],
)
def test_bad_submissions_exit_non_zero_and_write_nothing(
    cli: Cli,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    owner_db: Database,
    change: dict[str, str],
    message: str,
) -> None:
    options = {
        "--tenant": str(tenant.tenant_id),
        "--agent-type": "outreach",
        "--task-type": "draft_outreach",
        "--input": json.dumps({"contact_id": str(targets[0].contact_id)}),
        **change,
    }

    ran = cli("submit", *[part for pair in options.items() for part in pair])

    assert ran.code != 0
    assert message in ran.err
    assert ran.out == ""
    assert _tasks(owner_db, tenant.tenant_id) == []
    assert _outbox_rows(owner_db, tenant.tenant_id) == []


# --- tenants and queues -------------------------------------------------------------------


def test_tenants_lists_every_tenant_with_its_status(
    cli: Cli, tenant: CreatedKey, db: Database
) -> None:
    run_sql(
        db,
        tenant.tenant_id,
        "UPDATE tenants SET status = 'suspended' WHERE id = :id",
        id=tenant.tenant_id,
    )

    listed = cli("tenants", "--json")
    table = cli("tenants")

    assert listed.code == 0, listed.err
    mine = [t for t in listed.json() if t["id"] == str(tenant.tenant_id)]
    assert [(t["name"], t["status"]) for t in mine] == [("Test Tenant", "suspended")]
    assert str(tenant.tenant_id) in table.out
    assert table.out.splitlines()[0].split() == ["id", "name", "status", "created"]


def test_queues_shows_depths_consumers_and_work_in_flight(
    cli: Cli, cli_settings: Settings, tenant: CreatedKey, db: Database, owner_db: Database
) -> None:
    url = cli_settings.broker_url
    _fresh_queue(url, "outreach")
    envelope = json.dumps({"any": "body"}).encode()
    _channel_call(
        url,
        lambda channel: [
            channel.basic_publish(exchange="", routing_key="outreach", body=envelope)
            for _ in range(3)
        ],
    )
    for number in range(2):
        _park(url, "outreach", b"not json", "malformed message", f"parked-{number}")
    started = utcnow() - timedelta(hours=2)
    with db.unit_of_work(tenant.tenant_id) as uow:
        for status in ("pending", "pending", "in_progress"):
            uow.session.add(
                Task(
                    tenant_id=tenant.tenant_id,
                    agent_type="scoring",
                    task_type="score_records",
                    status=status,
                    started_at=started if status == "in_progress" else None,
                )
            )
        uow.commit()

    ran = cli("queues", "--json")
    table = cli("queues")

    assert ran.code == 0, ran.err
    report = ran.json()
    queues = {q["name"]: q for q in report["queues"]}
    assert len(queues) == 7 * 3
    assert queues["outreach"] == {
        "name": "outreach",
        "exists": True,
        "messages": 3,
        "consumers": 0,
    }
    assert queues["outreach.XQ"]["messages"] == 2
    assert queues["outreach.DQ"]["messages"] == 0
    absent = {name for name, q in queues.items() if not q["exists"]}
    assert absent == set(queues) - {"outreach", "outreach.DQ", "outreach.XQ"}
    with owner_db.unit_of_work() as uow:
        expected = dict(
            uow.session.execute(
                sa.select(Task.status, sa.func.count())
                .where(Task.agent_type == "scoring")
                .group_by(Task.status)
            ).all()
        )
    [scoring] = [t for t in report["tasks"] if t["agent_type"] == "scoring"]
    assert scoring["pending"] == expected["pending"]
    assert scoring["in_progress"] == expected["in_progress"]
    assert scoring["oldest_in_progress_age_s"] >= 2 * 3600
    assert "outreach.XQ" in table.out
    assert "absent" in table.out


# --- approvals ----------------------------------------------------------------------------


def test_approvals_are_listed_approved_with_an_edit_and_rejected(
    cli: Cli, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    edited, rejected, urgent = make_pending_items(
        db,
        tenant.tenant_id,
        [ItemSpec(targets[0]), ItemSpec(targets[1]), ItemSpec(targets[2], priority="urgent")],
    )
    tenant_arg = ("--tenant", tenant.tenant_id)

    listing = cli("approvals", "list", *tenant_arg, "--json")
    approved = cli(
        "approvals", "approve", *tenant_arg, edited, "--subject", "A shorter subject", "--json"
    )
    refused = cli("approvals", "reject", *tenant_arg, rejected, "--reason", "wrong contact")
    after = cli("approvals", "list", *tenant_arg)

    assert listing.code == 0, listing.err
    items = listing.json()["items"]
    assert items[0]["id"] == str(urgent)
    assert {i["id"] for i in items} == {str(edited), str(rejected), str(urgent)}
    assert {i["subject"] for i in items} == {"Hello"}
    assert approved.code == 0, approved.err
    assert approved.json()["status"] == "edited"
    assert approved.json()["send_status"] == "queued"
    assert refused.code == 0, refused.err
    assert f"approval item {rejected}: rejected" in refused.out
    item = load_item(db, tenant.tenant_id, edited)
    assert item.edited_content is not None
    assert item.edited_content["subject"] == "A shorter subject"
    assert load_item(db, tenant.tenant_id, rejected).rejection_reason == "wrong contact"
    with db.unit_of_work(tenant.tenant_id) as uow:
        actors = uow.session.execute(
            sa.select(ActivityLogEntry.entity_id, ActivityLogEntry.actor_id).where(
                ActivityLogEntry.entity_type == "approval_item"
            )
        ).all()
    assert sorted(actors) == sorted([(edited, "cli"), (rejected, "cli")])
    assert str(urgent) in after.out
    assert str(edited) not in after.out


def test_approval_decisions_that_cannot_be_made_exit_non_zero(
    cli: Cli, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    decided, expired, stale = make_pending_items(
        db,
        tenant.tenant_id,
        [
            ItemSpec(targets[0]),
            ItemSpec(targets[1], expires_at=utcnow() - timedelta(minutes=1)),
            ItemSpec(targets[2]),
        ],
    )
    run_sql(
        db,
        tenant.tenant_id,
        "UPDATE contacts SET title = 'Chief Everything Officer' WHERE id = :id",
        id=targets[2].contact_id,
    )
    tenant_arg = ("--tenant", tenant.tenant_id)
    assert cli("approvals", "approve", *tenant_arg, decided).code == 0

    twice = cli("approvals", "reject", *tenant_arg, decided, "--reason", "late")
    too_late = cli("approvals", "approve", *tenant_arg, expired)
    changed = cli("approvals", "approve", *tenant_arg, stale)
    unknown = cli("approvals", "approve", *tenant_arg, uuid.uuid4())
    other_tenant = cli("approvals", "list", "--tenant", uuid.uuid4())

    assert (twice.code, too_late.code, changed.code) == (1, 1, 1)
    assert "cannot move from 'approved' to 'rejected'" in twice.err
    assert "expired" in too_late.err
    assert "stale" in changed.err
    assert unknown.code == 2
    assert "not found" in unknown.err
    assert other_tenant.code == 2
    assert "tenant" in other_tenant.err
    assert load_item(db, tenant.tenant_id, expired).status == "pending"
    assert load_item(db, tenant.tenant_id, stale).status == "pending"


# --- dead letters -------------------------------------------------------------------------


def test_listing_dead_letters_leaves_every_message_on_the_queue(
    cli: Cli, cli_settings: Settings, cli_vhost: str, tenant: CreatedKey
) -> None:
    url = cli_settings.broker_url
    _fresh_queue(url, "enrichment")
    envelopes = [
        {
            "schema_version": 1,
            "task_id": str(uuid.uuid4()),
            "tenant_id": str(tenant.tenant_id),
            "agent_type": "enrichment",
            "task_type": "enrich_account",
            "input": {"account_id": "not-a-uuid"},
        }
        for _ in range(2)
    ]
    for number, envelope in enumerate(envelopes):
        body = dramatiq_body(envelope, queue="enrichment", message_id=f"m-{number}")
        _park(url, "enrichment", body, f"input.account_id: invalid ({number})", f"m-{number}")
    _park(url, "enrichment", b"\x00 not a message", "malformed message: body", "m-2")

    listed = cli("dead-letters", "list", "--queue", "enrichment", "--json")
    limited = cli("dead-letters", "list", "--queue", "enrichment.XQ", "--limit", "2")
    again = cli("dead-letters", "list", "--json")

    assert listed.code == 0, listed.err
    assert listed.json() == [
        {
            "message_id": f"m-{number}",
            "queue": "enrichment",
            "task_id": envelope["task_id"],
            "tenant_id": str(tenant.tenant_id),
            "task_type": "enrich_account",
            "reason": f"input.account_id: invalid ({number})",
        }
        for number, envelope in enumerate(envelopes)
    ] + [
        {
            "message_id": "m-2",
            "queue": "enrichment",
            "task_id": None,
            "tenant_id": None,
            "task_type": None,
            "reason": "malformed message: body",
        }
    ]
    assert "read 3/3" in listed.err
    assert limited.code == 0, limited.err
    assert "m-1" in limited.out
    assert "m-2" not in limited.out
    assert "(2 of 3 dead letters shown" in limited.out
    again_here = [row["message_id"] for row in again.json() if row["queue"] == "enrichment"]
    assert again_here == ["m-0", "m-1", "m-2"]
    assert infra.messages_held(cli_vhost, "enrichment.XQ") == 3


def _failed_task(
    db: Database, tenant_id: uuid.UUID, envelope: dict[str, Any], error: str
) -> uuid.UUID:
    """The task row a worker leaves for a message it refused: started, then failed."""
    task_id = uuid.UUID(envelope["task_id"])
    with db.unit_of_work(tenant_id) as uow:
        task = Task(
            id=task_id,
            tenant_id=tenant_id,
            agent_type=envelope["agent_type"],
            task_type=envelope["task_type"],
            priority=envelope["priority"],
            status=TaskStatus.IN_PROGRESS.value,
            input=envelope["input"],
            attempts=1,
        )
        uow.session.add(task)
        uow.session.flush()
        fail_task(uow, task, error)
        uow.commit()
    return task_id


def test_replay_resets_invalid_message_tasks_and_dispatches_them_through_the_outbox(
    cli: Cli,
    cli_settings: Settings,
    cli_vhost: str,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    db: Database,
    owner_db: Database,
) -> None:
    url = cli_settings.broker_url
    _fresh_queue(url, "outreach")
    missing_agent = uuid.uuid4()
    refused = _envelope(
        tenant.tenant_id,
        targets[0].contact_id,
        input={"contact_id": str(targets[0].contact_id), "agent_id": str(missing_agent)},
    )
    reason = f"agent {missing_agent} does not exist"
    refused_id = _failed_task(db, tenant.tenant_id, refused, f"invalid message: {reason}")
    finished = _envelope(tenant.tenant_id, targets[1].contact_id)
    _failed_task(db, tenant.tenant_id, finished, "ProviderRejected: quota exhausted")
    never_seen = _envelope(tenant.tenant_id, targets[2].contact_id)
    nobody = _envelope(uuid.uuid4(), targets[3].contact_id)
    letters = {
        "refused": dramatiq_body(refused, message_id="refused"),
        "finished": dramatiq_body(finished, message_id="finished"),
        "never-seen": dramatiq_body(never_seen, message_id="never-seen"),
        "nobody": dramatiq_body(nobody, message_id="nobody"),
        "garbage": b"{]",
        "wrong-queue": dramatiq_body(
            {
                **never_seen,
                "agent_type": "scoring",
                "task_type": "score_records",
                "input": {"account_id": str(uuid.uuid4())},
            },
            message_id="wrong-queue",
        ),
    }
    for message_id, body in letters.items():
        _park(url, "outreach", body, reason, message_id)

    one = cli("dead-letters", "replay", "--queue", "outreach", "--message-id", "refused")
    rest = cli("dead-letters", "replay", "--queue", "email_drafter", "--all", "--json")

    assert one.code == 0, one.err
    assert f"task {refused_id} reset" in one.out
    assert "replayed 1/1" in one.err
    with db.unit_of_work(tenant.tenant_id) as uow:
        task = uow.session.get_one(Task, refused_id)
    assert (task.status, task.error, task.completed_at) == ("pending", None, None)
    dispatches = [
        row
        for row in _outbox_rows(owner_db, tenant.tenant_id)
        if row.kind == "task" and row.dedup_key.startswith(f"task:{refused_id}:replay:")
    ]
    assert [(row.destination, row.payload["input"]["agent_id"]) for row in dispatches] == [
        ("outreach", str(missing_agent))
    ]
    queued = [
        row.payload["payload"]
        for row in _outbox_rows(owner_db, tenant.tenant_id)
        if row.destination == "task.queued" and row.payload["aggregate_id"] == str(refused_id)
    ]
    assert queued == [{**queued[0], "replayed": f"invalid message: {reason}"}]

    assert rest.code == 1
    results = {r["message_id"]: r for r in rest.json()["results"]}
    assert set(results) == set(letters) - {"refused"}
    assert {m for m, r in results.items() if r["replayed"]} == {"never-seen"}
    assert "task is failed" in results["finished"]["detail"]
    assert f"tenant {nobody['tenant_id']} does not exist" in results["nobody"]["detail"]
    assert "not a task message" in results["garbage"]["detail"]
    assert "does not belong on queue 'outreach'" in results["wrong-queue"]["detail"]
    never_seen_rows = [
        row
        for row in _outbox_rows(owner_db, tenant.tenant_id)
        if row.kind == "task" and row.payload["task_id"] == never_seen["task_id"]
    ]
    assert len(never_seen_rows) == 1
    left = cli("dead-letters", "list", "--queue", "outreach", "--json").json()
    assert {row["message_id"] for row in left} == {"finished", "nobody", "garbage", "wrong-queue"}
    assert infra.messages_held(cli_vhost, "outreach.XQ") == 4


def test_replay_names_messages_it_did_not_find(cli: Cli, cli_settings: Settings) -> None:
    _fresh_queue(cli_settings.broker_url, "followup")

    ran = cli("dead-letters", "replay", "--queue", "followup", "--message-id", "gone")
    unchosen = cli("dead-letters", "replay", "--queue", "followup")

    assert ran.code == 1
    assert "message gone is not on the dead-letter queues searched" in ran.out
    assert unchosen.code == 2
    assert "one of the arguments --message-id --all is required" in unchosen.err


# --- stuck tasks --------------------------------------------------------------------------


def _task_aged(
    db: Database, tenant_id: uuid.UUID, status: str, idle: timedelta, **values: Any
) -> uuid.UUID:
    task_id = uuid.uuid4()
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            Task(
                id=task_id,
                tenant_id=tenant_id,
                agent_type="enrichment",
                task_type="enrich_account",
                status=status,
                input={"account_id": str(uuid.uuid4())},
                **values,
            )
        )
        uow.commit()
    run_sql(
        db,
        tenant_id,
        "UPDATE tasks SET updated_at = now() - make_interval(secs => :s) WHERE id = :id",
        s=idle.total_seconds(),
        id=task_id,
    )
    return task_id


def _redispatches(owner_db: Database, tenant_id: uuid.UUID) -> list[str]:
    return sorted(
        row.payload["task_id"]
        for row in _outbox_rows(owner_db, tenant_id)
        if ":redispatch:" in row.dedup_key
    )


def test_redispatch_writes_one_dispatch_per_stuck_task_and_none_for_fresh_ones(
    cli: Cli, tenant: CreatedKey, db: Database, owner_db: Database
) -> None:
    old, recent = timedelta(hours=2), timedelta(minutes=5)
    lost = _task_aged(db, tenant.tenant_id, "pending", old)
    died = _task_aged(db, tenant.tenant_id, "in_progress", old, started_at=utcnow() - old)
    due_held = _task_aged(
        db, tenant.tenant_id, "pending", old, scheduled_at=utcnow() - timedelta(hours=1)
    )
    _task_aged(db, tenant.tenant_id, "pending", recent)
    _task_aged(db, tenant.tenant_id, "in_progress", recent)
    _task_aged(db, tenant.tenant_id, "pending", old, scheduled_at=utcnow() + timedelta(days=1))
    _task_aged(db, tenant.tenant_id, "completed", old)
    deferred = _task_aged(db, tenant.tenant_id, "in_progress", old)
    with db.unit_of_work(tenant.tenant_id) as uow:
        uow.dispatch(
            envelope_for(uow.session.get_one(Task, deferred)),
            dedup_key=f"task:{deferred}:defer:1",
            available_at=utcnow() + timedelta(minutes=10),
        )
        uow.commit()
    scope = ("--tenant", tenant.tenant_id, "--older-than", "1h")

    dry = cli("tasks", "redispatch", *scope, "--dry-run", "--json")
    assert _redispatches(owner_db, tenant.tenant_id) == []
    done = cli("tasks", "redispatch", *scope, "--json")
    repeated = cli("tasks", "redispatch", *scope)
    only_pending = cli("tasks", "redispatch", *scope, "--status", "pending", "--dry-run", "--json")

    assert dry.code == 0, dry.err
    outcomes = {row["task_id"]: row["outcome"] for row in dry.json()}
    assert outcomes == {
        str(lost): "would_dispatch",
        str(died): "would_dispatch",
        str(due_held): "would_dispatch",
        str(deferred): "waiting_in_outbox",
    }
    assert done.code == 0, done.err
    assert {row["task_id"]: row["outcome"] for row in done.json()} == {
        **outcomes,
        str(lost): "dispatched",
        str(died): "dispatched",
        str(due_held): "dispatched",
    }
    assert "redispatched 4/4" in done.err
    assert _redispatches(owner_db, tenant.tenant_id) == sorted(
        str(t) for t in (lost, died, due_held)
    )
    assert "dispatched 0 of 1 stuck tasks" in repeated.out
    assert only_pending.json() == []
    with db.unit_of_work(tenant.tenant_id) as uow:
        held = uow.session.get_one(Task, due_held)
    assert held.dispatched_at is not None


def test_redispatch_refuses_a_bad_threshold(cli: Cli) -> None:
    ran = cli("tasks", "redispatch", "--older-than", "soon")

    assert ran.code == 2
    assert "'soon' is not a duration such as 90s, 15m, 2h or 1d" in ran.err


# --- usage --------------------------------------------------------------------------------


def test_usage_prints_recorded_calls_and_costs_per_agent_and_model(
    cli: Cli, tenant: CreatedKey, db: Database, settings: Settings
) -> None:
    with db.unit_of_work(tenant.tenant_id) as uow:
        agent = create_agent(uow, tenant.tenant_id, agent_type="outreach", name="Writer")
        uow.commit()
    calls = [
        (agent.id, ProviderCall("openai", "gpt-4.1-mini", "chat", UsageOutcome.OK, 1200, 300)),
        (agent.id, ProviderCall("openai", "gpt-4.1-mini", "chat", UsageOutcome.OK, 800, 200)),
        (None, ProviderCall("apollo", None, "people_search", UsageOutcome.OK, credits=3)),
    ]
    costs: list[Decimal] = []
    with db.unit_of_work(tenant.tenant_id) as uow:
        for agent_id, call in calls:
            costs.append(
                record_provider_call(
                    uow, settings, call, tenant_id=tenant.tenant_id, agent_id=agent_id
                )
            )
        uow.commit()
    today = utcnow().date().isoformat()

    ran = cli("usage", "--tenant", tenant.tenant_id, "--from", today, "--to", today, "--json")
    table = cli("usage", "--tenant", tenant.tenant_id)
    everyone = cli("usage", "--json")

    assert ran.code == 0, ran.err
    rows = ran.json()["rows"]
    assert [
        (r["agent_name"], r["provider"], r["model"], r["calls"], r["tokens_in"], r["credits"])
        for r in rows
    ] == [(None, "apollo", None, 1, 0, 3), ("Writer", "openai", "gpt-4.1-mini", 2, 2000, 0)]
    assert Decimal(rows[1]["cost_usd"]) == costs[0] + costs[1]
    assert Decimal(ran.json()["total_cost_usd"]) == sum(costs, Decimal(0))
    assert costs[0] > 0
    assert "Writer" in table.out
    assert f"total cost usd: {sum(costs, Decimal(0))}" in table.out
    mine = [r for r in everyone.json()["rows"] if r["tenant_id"] == str(tenant.tenant_id)]
    assert mine == rows


def test_usage_rejects_a_reversed_range(cli: Cli) -> None:
    ran = cli("usage", "--from", "2026-02-01", "--to", "2026-01-01")

    assert ran.code == 2
    assert "--from is after --to" in ran.err
