"""The enrichment pool against real RabbitMQ and Postgres, Apollo and the LLM being the sandbox
over HTTP: facts with sources, signals, the summary, the hand-off, billing and redelivery."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
import sqlalchemy as sa

from services.sandbox import apollo_data
from services.sandbox.config import SandboxConfig
from services.sandbox.server import start_sandbox_in_thread
from shared.db.database import Database
from shared.db.models import (
    Account,
    ActivityLogEntry,
    AgentMessage,
    Opportunity,
    OutboxMessage,
    ProviderUsage,
    Task,
)
from shared.domain.tasks import cancel_task, ensure_task, start_task
from shared.envelope import parse_envelope
from shared.lifecycles import TaskTrigger
from shared.settings import Settings
from shared.task_inputs import EnrichAccountInput
from shared.tenancy import CreatedKey
from tests.support.agent_tasks import add_agent, envelope, publish, wait_for_task
from workers.enrichment.actor import declare_enrichment_actor
from workers.enrichment.service import enrich_account
from workers.runtime.bootstrap import build_pool
from workers.runtime.task_runner import TaskRun

pytestmark = pytest.mark.integration


def pointed_at(settings: Settings, sandbox_url: str) -> Settings:
    root = sandbox_url.removesuffix("/v1")
    return settings.model_copy(
        update={
            "openai_base_url": f"{root}/v1",
            "apollo_base_url": f"{root}/api/v1",
            "worker_min_backoff_ms": 100,
        }
    )


@pytest.fixture(scope="module")
def pool_settings(settings: Settings) -> Iterator[Settings]:
    with start_sandbox_in_thread(SandboxConfig()) as sandbox:
        yield pointed_at(settings, sandbox.base_url)


@pytest.fixture(scope="module")
def worker(pool_settings: Settings) -> Iterator[None]:
    broker, boot = build_pool([declare_enrichment_actor], pool_settings)
    boot.start()
    running = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
    running.start()
    yield
    running.stop()
    boot.stop()
    broker.close()


def domain_with_intent(intent: bool) -> str:
    """A domain the sandbox answers with (or without) a buying-intent signal."""
    for index in range(200):
        domain = f"{uuid.uuid4().hex[:10]}-{index}.example"
        organization = apollo_data.enrichment({"domain": domain}, 0)
        assert isinstance(organization, dict)
        if organization["organization"]["has_intent_signal_account"] is intent:
            return domain
    raise AssertionError("no such domain in 200 tries")


def add_account(db: Database, tenant_id: uuid.UUID, domain: str) -> uuid.UUID:
    account_id = uuid.uuid4()
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            Account(
                id=account_id,
                tenant_id=tenant_id,
                name="Acme Corp",
                domain=domain,
                enrichment={"lead_source": {"kept": True}},
            )
        )
        uow.commit()
    return account_id


def test_enrichment_stores_every_fact_with_its_source_and_hands_the_account_on(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    account_id = add_account(db, tenant_id, domain_with_intent(True))
    finder = add_agent(db, tenant_id, "contact_finder")
    run_id = uuid.uuid4()
    message = envelope(
        tenant_id,
        "enrichment",
        "enrich_account",
        {"account_id": str(account_id), "pipeline": {"run_id": str(run_id)}},
    )

    publish(settings.broker_url, "enrichment", message)
    task = wait_for_task(db, tenant_id, message["task_id"])

    assert task.status == "completed", task.error
    with db.unit_of_work(tenant_id) as uow:
        account = uow.session.get(Account, account_id)
        assert account is not None
        signals = uow.session.scalars(
            sa.select(Opportunity).where(Opportunity.account_id == account_id)
        ).all()
        handed = uow.session.scalars(sa.select(Task).where(Task.parent_task_id == task.id)).all()
        messages = uow.session.scalars(
            sa.select(AgentMessage).where(AgentMessage.task_id.in_([t.id for t in handed]))
        ).all()
        dispatches = uow.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.destination == "contact_finder")
        ).all()
        usage = uow.session.scalars(
            sa.select(ProviderUsage).where(ProviderUsage.task_id == task.id)
        ).all()
        actions = uow.session.scalars(
            sa.select(ActivityLogEntry.action).where(ActivityLogEntry.task_id == task.id)
        ).all()

    assert account.version == 2
    assert account.industry
    assert account.employee_count
    assert account.annual_revenue_usd
    assert account.location
    assert account.technologies
    enrichment = account.enrichment
    assert enrichment["lead_source"] == {"kept": True}, "other agents' keys are kept"
    facts = enrichment["facts"]
    assert facts["employee_count"]["source"] == "apollo.organization_enrich"
    assert facts["employee_count"]["field"] == "estimated_num_employees"
    assert facts["employee_count"]["value"] == account.employee_count
    assert facts["technologies"]["value"] == account.technologies
    for name, fact in facts.items():
        assert fact["source"] in ("apollo.organization_enrich", "crm.account"), name
        assert fact["field"], name
        if fact["source"] == "apollo.organization_enrich":
            assert fact["retrieved_at"], name
    summary = enrichment["summary"]
    assert summary["text"]
    assert summary["source"]["kind"] == "llm"
    assert summary["source"]["model"]
    assert summary["source"]["prompt_version"] == "enrichment-summary/1"
    assert summary["key_facts"]
    for key_fact in summary["key_facts"]:
        assert key_fact["source_field"] in facts
        assert key_fact["source"] == facts[key_fact["source_field"]]["source"]
    assert enrichment["news"] == []
    assert [s["title"] for s in enrichment["intent_signals"]] == ["Buying intent detected"]

    assert [(s.kind, s.title) for s in signals] == [("signal", "Buying intent detected")]
    assert signals[0].data["strength"] == "high"
    assert enrichment["intent_signals"][0]["opportunity_id"] == str(signals[0].id)

    assert len(handed) == 1
    assert (handed[0].agent_type, handed[0].task_type) == ("contact_finder", "find_contacts")
    assert handed[0].agent_id == finder
    assert handed[0].input == {
        "account_id": str(account_id),
        "agent_id": str(finder),
        "pipeline": {"run_id": str(run_id), "agents": {}, "contacts_per_account": 2},
    }
    assert task.output is not None
    assert task.output["handed_off_task_id"] == str(handed[0].id)
    assert len(messages) == 1
    assert messages[0].to_agent_id == finder
    assert [d.payload["task_id"] for d in dispatches] == [str(handed[0].id)]

    billed = sorted((u.provider, u.dedup_key, u.credits) for u in usage)
    assert billed == [
        ("apollo", f"{task.id}:organization_enrich", 1),
        ("openai", f"{task.id}:summary", 0),
    ]
    assert {"account.enriched", "signal.recorded", "account.handed_off"} <= set(actions)


def test_redelivery_writes_nothing_twice_and_signals_stay_unique_per_account(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    account_id = add_account(db, tenant_id, domain_with_intent(True))
    pipeline = {"run_id": str(uuid.uuid4())}
    first = envelope(
        tenant_id,
        "enrichment",
        "enrich_account",
        {"account_id": str(account_id), "pipeline": pipeline},
    )

    publish(settings.broker_url, "enrichment", first, copies=2)
    wait_for_task(db, tenant_id, first["task_id"])
    time.sleep(1.5)  # let the second delivery finish too
    second = envelope(tenant_id, "enrichment", "enrich_account", {"account_id": str(account_id)})
    publish(settings.broker_url, "enrichment", second)
    done = wait_for_task(db, tenant_id, second["task_id"])

    assert done.status == "completed", done.error
    with db.unit_of_work(tenant_id) as uow:
        account = uow.session.get(Account, account_id)
        assert account is not None
        signals = uow.session.scalars(
            sa.select(Opportunity).where(Opportunity.account_id == account_id)
        ).all()
        children = uow.session.scalars(
            sa.select(Task).where(Task.parent_task_id == uuid.UUID(first["task_id"]))
        ).all()
        usage = uow.session.execute(
            sa.select(ProviderUsage.dedup_key, sa.func.count())
            .where(ProviderUsage.task_id == uuid.UUID(first["task_id"]))
            .group_by(ProviderUsage.dedup_key)
        ).all()
        enriched = uow.session.scalar(
            sa.select(sa.func.count())
            .select_from(ActivityLogEntry)
            .where(ActivityLogEntry.entity_id == account_id)
            .where(ActivityLogEntry.action == "account.enriched")
        )
    assert account.version == 3, "one bump per task, not per delivery"
    assert enriched == 2
    assert len(signals) == 1, "one signal per account and title"
    assert signals[0].version == 2, "the second task refreshed it"
    assert len(children) == 1
    assert sorted(count for _, count in usage) == [1, 1]


def test_an_agent_without_technologies_leaves_them_out(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    account_id = add_account(db, tenant_id, domain_with_intent(True))
    agent = add_agent(
        db,
        tenant_id,
        "enrichment",
        {"includeTechnologies": False, "includeNews": False, "includeIntentSignals": False},
    )
    message = envelope(
        tenant_id,
        "enrichment",
        "enrich_account",
        {"account_id": str(account_id), "agent_id": str(agent)},
    )

    publish(settings.broker_url, "enrichment", message)
    task = wait_for_task(db, tenant_id, message["task_id"])

    assert task.status == "completed", task.error
    with db.unit_of_work(tenant_id) as uow:
        account = uow.session.get(Account, account_id)
        assert account is not None
        signals = uow.session.scalars(
            sa.select(Opportunity).where(Opportunity.account_id == account_id)
        ).all()
        handed = uow.session.scalars(sa.select(Task).where(Task.parent_task_id == task.id)).all()
    assert "technologies" not in account.enrichment["facts"]
    assert account.technologies == []
    assert "news" not in account.enrichment
    assert "intent_signals" not in account.enrichment
    assert signals == []
    assert handed == [], "no pipeline, no hand-off"


def test_a_domain_apollo_does_not_know_fails_the_task_with_the_reason(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    account_id = add_account(db, tenant_id, "nobody-knows.invalid")
    message = envelope(tenant_id, "enrichment", "enrich_account", {"account_id": str(account_id)})

    publish(settings.broker_url, "enrichment", message)
    task = wait_for_task(db, tenant_id, message["task_id"])

    assert task.status == "failed"
    assert "no organization found" in (task.error or "")
    assert task.attempts == 1, "a permanent error is not retried"
    with db.unit_of_work(tenant_id) as uow:
        account = uow.session.get(Account, account_id)
        outcomes = uow.session.scalars(
            sa.select(ProviderUsage.outcome).where(ProviderUsage.task_id == task.id)
        ).all()
    assert account is not None
    assert account.version == 1
    assert outcomes == ["error"]


def test_a_task_cancelled_while_the_providers_answer_writes_only_billing(
    settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    account_id = add_account(db, tenant_id, domain_with_intent(True))
    message = envelope(tenant_id, "enrichment", "enrich_account", {"account_id": str(account_id)})
    parsed = parse_envelope(message)
    with db.unit_of_work(tenant_id) as uow:
        task = ensure_task(uow, parsed, trigger=TaskTrigger.API)
        assert task is not None
        assert start_task(uow, task)
        uow.commit()
        run = TaskRun(task.id, tenant_id, task.attempts, None)

    with start_sandbox_in_thread(SandboxConfig(latency_ms=1500)) as sandbox:
        broker, boot = build_pool([], pointed_at(settings, sandbox.base_url))
        context = boot.start()
        try:
            request = EnrichAccountInput.model_validate(message["input"])
            worker = threading.Thread(target=enrich_account, args=(context, parsed, request, run))
            worker.start()
            time.sleep(0.5)
            with db.unit_of_work(tenant_id) as uow:
                cancel_task(uow, tenant_id, run.task_id)
            worker.join(timeout=30)
        finally:
            boot.stop()
            broker.close()

    with db.unit_of_work(tenant_id) as uow:
        account = uow.session.get(Account, account_id)
        final = uow.session.get(Task, run.task_id)
        signals = uow.session.scalars(
            sa.select(Opportunity).where(Opportunity.account_id == account_id)
        ).all()
        billed = uow.session.scalars(
            sa.select(ProviderUsage.dedup_key).where(ProviderUsage.task_id == run.task_id)
        ).all()
    assert final is not None
    assert final.status == "cancelled"
    assert account is not None
    assert account.version == 1
    assert account.enrichment == {"lead_source": {"kept": True}}
    assert signals == []
    assert sorted(billed) == [f"{run.task_id}:organization_enrich", f"{run.task_id}:summary"]
