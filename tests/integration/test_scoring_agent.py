"""The scoring pool against real RabbitMQ and Postgres: scores with explanations, the relevance
threshold, the daily hand-off cap under concurrent tasks, hand-off rows and redelivery."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
import pytest
import sqlalchemy as sa

from shared.db.database import Database
from shared.db.models import (
    Account,
    ActivityLogEntry,
    AgentMessage,
    Contact,
    Opportunity,
    SuppressedAddress,
    Task,
)
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support.agent_tasks import add_agent, envelope, publish, wait_for_task
from workers.runtime.bootstrap import build_pool
from workers.scoring.actor import declare_scoring_actor

pytestmark = pytest.mark.integration

CRITERION_KEYS = {"criterion", "group", "weight", "value", "reason"}


@pytest.fixture(scope="module")
def worker(settings: Settings) -> Iterator[None]:
    broker, boot = build_pool([declare_scoring_actor], settings)
    boot.start()
    running = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
    running.start()
    yield
    running.stop()
    boot.stop()
    broker.close()


@dataclass(frozen=True)
class Seeded:
    account_id: uuid.UUID
    contacts: dict[str, uuid.UUID]
    opportunities: dict[str, uuid.UUID]


def seed_account(
    db: Database,
    tenant_id: uuid.UUID,
    people: dict[str, str | None],
    *,
    suppressed: tuple[str, ...] = (),
) -> Seeded:
    """An account that fits well, with a fresh strong signal, an upcoming event, a closed
    opportunity, and ``people`` (title → email)."""
    now = datetime.now(UTC)
    account = Account(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name="Northwind Logistics",
        domain=f"{uuid.uuid4().hex[:12]}.example",
        industry="Logistics",
        employee_count=850,
        annual_revenue_usd=40_000_000,
        location="Rotterdam",
        technologies=["SAP", "Snowflake"],
    )
    contacts = {
        title: Contact(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            account_id=account.id,
            first_name="Sam",
            last_name=title.split()[0],
            title=title,
            email=email,
        )
        for title, email in people.items()
    }
    opportunities = {
        "signal": Opportunity(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            account_id=account.id,
            kind="signal",
            title="Buying intent detected",
            data={"strength": "high"},
        ),
        "event": Opportunity(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            account_id=account.id,
            kind="event",
            title="SupplyChain Live",
            event_date=now + timedelta(days=30),
        ),
        "closed": Opportunity(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            account_id=account.id,
            kind="opportunity",
            title="Old deal",
            data={"status": "closed_lost"},
        ),
    }
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(account)
        uow.session.flush()
        uow.session.add_all([*contacts.values(), *opportunities.values()])
        for email in suppressed:
            uow.session.add(SuppressedAddress(tenant_id=tenant_id, email=email, reason="bounced"))
        uow.commit()
        return Seeded(
            account.id,
            {title: c.id for title, c in contacts.items()},
            {name: o.id for name, o in opportunities.items()},
        )


def score_message(
    tenant_id: uuid.UUID, seeded: Seeded, agent_id: uuid.UUID, **pipeline: Any
) -> dict[str, Any]:
    task_input: dict[str, Any] = {"account_id": str(seeded.account_id), "agent_id": str(agent_id)}
    if pipeline:
        task_input["pipeline"] = {"run_id": str(uuid.uuid4()), **pipeline}
    return envelope(tenant_id, "scoring", "score_records", task_input)


def children_of(db: Database, tenant_id: uuid.UUID, *task_ids: str) -> list[Task]:
    with db.unit_of_work(tenant_id) as uow:
        return list(
            uow.session.scalars(
                sa.select(Task)
                .where(Task.parent_task_id.in_([uuid.UUID(t) for t in task_ids]))
                .order_by(Task.created_at)
            )
        )


def test_scores_are_stored_with_explanations_and_the_best_contacts_go_to_outreach(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    scorer = add_agent(db, tenant_id, "scoring", {"minRelevanceScore": 0.5})
    outreach = add_agent(db, tenant_id, "outreach")
    seeded = seed_account(
        db,
        tenant_id,
        {
            "Chief Technology Officer": "cto@northwind.example",
            "VP Operations": "vp@northwind.example",
            "Director of Procurement": "dp@northwind.example",
            "Director of Sales": None,
            "Head of Data": "Bounced@Northwind.example",
            "Sales Intern": "intern@northwind.example",
        },
        suppressed=("bounced@northwind.example",),
    )
    message = score_message(tenant_id, seeded, scorer, contacts_per_account=2)

    publish(settings.broker_url, "scoring", message)
    task = wait_for_task(db, tenant_id, message["task_id"])

    assert task.status == "completed", task.error
    assert task.items_processed == task.items_succeeded == 1 + 6 + 2
    with db.unit_of_work(tenant_id) as uow:
        account = uow.session.get(Account, seeded.account_id)
        contacts = {
            c.title: c
            for c in uow.session.scalars(
                sa.select(Contact).where(Contact.account_id == seeded.account_id)
            )
        }
        opportunities = {
            name: uow.session.get(Opportunity, oid) for name, oid in seeded.opportunities.items()
        }
        messages = uow.session.scalars(
            sa.select(AgentMessage).where(AgentMessage.from_agent_id == scorer)
        ).all()
    assert account is not None
    assert account.score is not None
    assert 0.5 < account.score <= 1.0
    assert account.version == 2
    explanation = account.score_explanation or {}
    assert explanation["score"] == account.score
    assert explanation["task_id"] == message["task_id"]
    assert {c["criterion"] for c in explanation["criteria"]} >= {
        "industry",
        "company_size",
        "intent_signals",
        "recency",
    }
    for criterion in explanation["criteria"]:
        assert set(criterion) == CRITERION_KEYS
    for contact in contacts.values():
        assert contact.score is not None
        assert 0.0 <= contact.score <= 1.0
        contact_explanation = contact.enrichment["score_explanation"]
        assert contact_explanation["score"] == contact.score
        assert {c["criterion"] for c in contact_explanation["criteria"]} == {
            "seniority",
            "title",
            "reachability",
            "account",
        }
    assert contacts["Sales Intern"].score is not None
    assert contacts["Sales Intern"].score < 0.5
    for name in ("signal", "event"):
        scored = opportunities[name]
        assert scored is not None
        assert scored.relevance_score is not None
        assert scored.data["score_explanation"]["score"] == scored.relevance_score
    closed = opportunities["closed"]
    assert closed is not None
    assert closed.relevance_score is None, "closed opportunities are not scored"

    handed = children_of(db, tenant_id, message["task_id"])
    assert [t.input["contact_id"] for t in handed] == [
        str(contacts["Chief Technology Officer"].id),
        str(contacts["VP Operations"].id),
    ], "the two best eligible contacts, best first"
    ranked = task.output["ranked_opportunities"] if task.output else []
    for child in handed:
        assert (child.agent_type, child.task_type, child.status) == (
            "outreach",
            "draft_outreach",
            "pending",
        )
        assert child.agent_id == outreach
        assert child.input["agent_id"] == str(outreach)
        assert child.input["opportunity_id"] == ranked[0]["opportunity_id"]
        assert child.input["pipeline"]["contacts_per_account"] == 2
    assert {m.task_id for m in messages} == {t.id for t in handed}
    assert contacts["Chief Technology Officer"].outreach_status == "queued"
    assert contacts["Director of Procurement"].outreach_status == "new"
    skipped = (task.output or {})["hand_offs"]["skipped"]
    assert skipped == {
        "below_threshold": 1,
        "no_email": 1,
        "suppressed": 1,
        "already_in_outreach": 0,
    }


def test_nothing_below_the_minimum_relevance_is_handed_on(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    scorer = add_agent(db, tenant_id, "scoring", {"minRelevanceScore": 0.99})
    seeded = seed_account(db, tenant_id, {"Chief Technology Officer": "cto@northwind.example"})
    message = score_message(tenant_id, seeded, scorer, contacts_per_account=1)

    publish(settings.broker_url, "scoring", message)
    task = wait_for_task(db, tenant_id, message["task_id"])

    assert task.status == "completed", task.error
    assert children_of(db, tenant_id, message["task_id"]) == []
    assert task.output is not None
    assert task.output["hand_offs"]["handed"] == []
    with db.unit_of_work(tenant_id) as uow:
        account = uow.session.get(Account, seeded.account_id)
    assert account is not None
    assert account.score is not None, "scores are stored even when nothing is handed on"


def test_concurrent_scoring_tasks_never_exceed_the_agents_daily_cap(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    scorer = add_agent(
        db, tenant_id, "scoring", {"minRelevanceScore": 0.3, "maxOpportunitiesPerDay": 3}
    )
    people = {"Chief Technology Officer": None, "VP Operations": None}
    messages = []
    for index in range(4):
        addresses = {title: f"{index}.{title.split()[0].lower()}@x.example" for title in people}
        seeded = seed_account(db, tenant_id, addresses)
        messages.append(score_message(tenant_id, seeded, scorer, contacts_per_account=2))

    publish(settings.broker_url, "scoring", *messages)
    tasks = [wait_for_task(db, tenant_id, m["task_id"]) for m in messages]

    assert all(t.status == "completed" for t in tasks), [t.error for t in tasks]
    handed = children_of(db, tenant_id, *(m["task_id"] for m in messages))
    assert len(handed) == 3, "8 wanted, the cap allows 3 a day"
    with db.unit_of_work(tenant_id) as uow:
        capped = uow.session.scalars(
            sa.select(ActivityLogEntry.details).where(
                ActivityLogEntry.agent_id == scorer, ActivityLogEntry.action == "handoff.capped"
            )
        ).all()
    assert sum(d["held_back"] for d in capped) == 5

    again = score_message(
        tenant_id,
        seed_account(db, tenant_id, {"VP Sales": "v@y.example"}),
        scorer,
        contacts_per_account=1,
    )
    publish(settings.broker_url, "scoring", again)
    assert wait_for_task(db, tenant_id, again["task_id"]).status == "completed"
    assert children_of(db, tenant_id, again["task_id"]) == []


def test_a_redelivered_scoring_task_writes_nothing_twice(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    scorer = add_agent(db, tenant_id, "scoring")
    seeded = seed_account(
        db,
        tenant_id,
        {"Chief Technology Officer": "c@z.example", "VP Operations": "v@z.example"},
    )
    message = score_message(tenant_id, seeded, scorer, contacts_per_account=2)

    publish(settings.broker_url, "scoring", message, copies=2)
    first = wait_for_task(db, tenant_id, message["task_id"])
    time.sleep(1.0)  # let the second delivery finish too

    assert first.status == "completed", first.error
    with db.unit_of_work(tenant_id) as uow:
        account = uow.session.get(Account, seeded.account_id)
        versions = uow.session.scalars(
            sa.select(Contact.version).where(Contact.account_id == seeded.account_id)
        ).all()
        scored_logs = uow.session.scalar(
            sa.select(sa.func.count())
            .select_from(ActivityLogEntry)
            .where(ActivityLogEntry.task_id == first.id)
            .where(ActivityLogEntry.action == "records.scored")
        )
    assert account is not None
    assert account.version == 2
    assert versions == [2, 2]
    assert scored_logs == 1
    assert len(children_of(db, tenant_id, message["task_id"])) == 2
