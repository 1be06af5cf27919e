"""The contact_finder pool against real RabbitMQ, Postgres and Redis, Apollo being the sandbox
over HTTP: contacts at an account, deduplicated, the suppression list respected, and the
hand-off to scoring."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from shared.db.database import Database
from shared.db.models import (
    Account,
    ActivityLogEntry,
    AgentMessage,
    Contact,
    ProviderUsage,
    SuppressedAddress,
    SuppressionReason,
    Task,
)
from shared.settings import Settings
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.support.agent_runs import (
    apollo_sandbox,
    make_agent,
    publish,
    running_pool,
    task_outbox,
)
from tests.support.agent_tasks import envelope, wait_for_task
from workers.contact_finder.actor import declare_contact_finder_actor

pytestmark = pytest.mark.integration

DOMAIN = "northwind-robotics.com"
CONFIG = {
    "titles": ["VP of Sales"],
    "seniorities": ["vp"],
    "departments": ["sales"],
    "maxContactsPerAccount": 3,
    "revealEmails": True,
}


@pytest.fixture(scope="module")
def worker(settings: Settings) -> Iterator[None]:
    with (
        apollo_sandbox(settings) as (pool_settings, _),
        running_pool(declare_contact_finder_actor, pool_settings),
    ):
        yield


def _account(db: Database, tenant_id: uuid.UUID, domain: str | None = DOMAIN) -> uuid.UUID:
    with db.unit_of_work(tenant_id) as uow:
        account = Account(id=uuid.uuid4(), tenant_id=tenant_id, name="Northwind Robotics")
        account.domain = domain
        uow.session.add(account)
        uow.commit()
        return account.id


def _find(tenant_id: uuid.UUID, account_id: uuid.UUID, **task_input: Any) -> dict[str, Any]:
    return envelope(
        tenant_id,
        "contact_finder",
        "find_contacts",
        {"account_id": str(account_id), **task_input},
    )


def _contacts(db: Database, tenant_id: uuid.UUID) -> list[Contact]:
    with db.unit_of_work(tenant_id) as uow:
        return list(
            uow.session.scalars(
                sa.select(Contact).where(Contact.tenant_id == tenant_id).order_by(Contact.email)
            )
        )


def _run(settings: Settings, db: Database, tenant_id: uuid.UUID, message: dict[str, Any]) -> Task:
    publish(settings, message)
    task = wait_for_task(db, tenant_id, message["task_id"])
    assert task.status == "completed", task.error
    return task


def test_decision_makers_are_added_and_the_account_handed_to_scoring(
    worker: None, settings: Settings, db: Database, owner_db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    agent_id = make_agent(db, tenant_id, "contact_finder", CONFIG)
    scoring_agent = make_agent(db, tenant_id, "scoring")
    account_id = _account(db, tenant_id)
    run_id = uuid.uuid4()
    pipeline = {"run_id": str(run_id), "contacts_per_account": 2}
    message = _find(tenant_id, account_id, agent_id=str(agent_id), pipeline=pipeline)

    publish(settings, message, times=2)
    task = wait_for_task(db, tenant_id, message["task_id"])
    time.sleep(1.0)  # let the repeat delivery finish too

    assert task.status == "completed", task.error
    contacts = _contacts(db, tenant_id)
    assert len(contacts) == 3
    assert len({c.email for c in contacts}) == len(contacts)
    assert all(c.email and c.email.endswith(f"@{DOMAIN}") for c in contacts)
    assert {(c.account_id, c.title, c.seniority) for c in contacts} == {
        (account_id, "VP of Sales", "vp")
    }
    assert all(c.external_ids.get("apollo") and c.last_name for c in contacts)
    assert task.items_succeeded == len(contacts)
    assert task.output is not None
    assert sorted(task.output["contact_ids"]) == sorted(str(c.id) for c in contacts)
    with db.unit_of_work(tenant_id) as uow:
        usage = uow.session.scalars(
            sa.select(ProviderUsage).where(ProviderUsage.task_id == task.id)
        ).all()
        actions = uow.session.scalars(
            sa.select(ActivityLogEntry.action).where(ActivityLogEntry.task_id == task.id)
        ).all()
        children = uow.session.scalars(sa.select(Task).where(Task.parent_task_id == task.id)).all()
        messages = uow.session.scalars(
            sa.select(AgentMessage).where(AgentMessage.tenant_id == tenant_id)
        ).all()
    matches = [u for u in usage if u.operation == "people_match"]
    assert {u.operation for u in usage} == {"people_search", "people_match"}
    assert sum(u.credits for u in matches) == task.output["credits"] == 3
    assert len({u.dedup_key for u in usage}) == len(usage)
    assert actions.count("contact.added") == len(contacts)
    assert [(c.agent_type, c.task_type, c.agent_id) for c in children] == [
        ("scoring", "score_records", scoring_agent)
    ]
    assert children[0].input == {
        "account_id": str(account_id),
        "agent_id": str(scoring_agent),
        "pipeline": {"run_id": str(run_id), "agents": {}, "contacts_per_account": 2},
    }
    assert [o.destination for o in task_outbox(owner_db, tenant_id)] == ["scoring"]
    assert [(m.from_agent_id, m.to_agent_id) for m in messages] == [(agent_id, scoring_agent)]


def test_suppressed_addresses_are_never_added_and_known_contacts_not_duplicated(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    reference = create_api_key(db, create_tenant(db, "Reference")).tenant_id
    reference_agent = make_agent(db, reference, "contact_finder", CONFIG)
    _run(
        settings,
        db,
        reference,
        _find(reference, _account(db, reference), agent_id=str(reference_agent)),
    )
    emails = [c.email for c in _contacts(db, reference)]
    assert len(emails) >= 2, "the sandbox answers the same query the same way for every tenant"
    tenant_id = tenant.tenant_id
    agent_id = make_agent(db, tenant_id, "contact_finder", CONFIG)
    account_id = _account(db, tenant_id)
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            SuppressedAddress(
                tenant_id=tenant_id,
                email=str(emails[0]).upper(),
                reason=SuppressionReason.UNSUBSCRIBED,
            )
        )
        uow.session.add(
            Contact(tenant_id=tenant_id, first_name="Known", email=str(emails[1]).upper())
        )
        uow.commit()

    task = _run(settings, db, tenant_id, _find(tenant_id, account_id, agent_id=str(agent_id)))

    contacts = _contacts(db, tenant_id)
    stored = {str(c.email).lower() for c in contacts}
    assert emails[0] not in stored
    assert stored == set(emails[1:])
    known = next(c for c in contacts if str(c.email).lower() == emails[1])
    assert known.first_name == "Known", "a known contact is linked, not duplicated"
    assert known.account_id == account_id
    assert known.external_ids.get("apollo")
    assert task.output is not None
    assert task.output["skipped"].get("suppressed") == 1
    assert task.output["existing"] == 1
    assert task.items_failed >= 1
    assert task.items_succeeded == len(contacts)


def test_without_revealing_emails_people_are_deduplicated_by_apollo_id(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    agent_id = make_agent(db, tenant_id, "contact_finder", {**CONFIG, "revealEmails": False})
    account_id = _account(db, tenant_id)

    first = _run(settings, db, tenant_id, _find(tenant_id, account_id, agent_id=str(agent_id)))
    second = _run(settings, db, tenant_id, _find(tenant_id, account_id, agent_id=str(agent_id)))

    contacts = _contacts(db, tenant_id)
    assert len(contacts) == 3
    assert all(c.email is None for c in contacts)
    assert len({c.external_ids["apollo"] for c in contacts}) == 3
    assert first.output is not None
    assert second.output is not None
    assert (first.output["added"], second.output["added"], second.output["existing"]) == (3, 0, 3)
    assert first.output["credits"] == second.output["credits"] == 0


def test_people_outside_the_configured_departments_are_skipped(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    config = {**CONFIG, "departments": ["engineering"]}
    agent_id = make_agent(db, tenant_id, "contact_finder", config)
    account_id = _account(db, tenant_id)

    task = _run(settings, db, tenant_id, _find(tenant_id, account_id, agent_id=str(agent_id)))

    assert _contacts(db, tenant_id) == []
    assert task.output is not None
    assert task.output["skipped"] == {"department": task.output["candidates"]}
    assert (task.items_succeeded, task.items_failed) == (0, task.output["candidates"])


def test_an_account_that_does_not_exist_fails_the_task_at_once(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    message = _find(tenant.tenant_id, uuid.uuid4())

    publish(settings, message)
    task = wait_for_task(db, tenant.tenant_id, message["task_id"])

    assert task.status == "failed"
    assert task.attempts == 1
    assert "not found" in (task.error or "")
