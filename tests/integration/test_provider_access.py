"""The worker's provider access: budgets fail fast per tenant, and each tenant's own key is
used for its calls (the platform key for the others) without ever reaching the logs."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import dramatiq
import httpx
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget, seed_sample_crm
from services.sandbox.config import SandboxConfig
from services.sandbox.server import start_sandbox_in_thread
from shared.credentials import credential_cipher, set_credential
from shared.db.database import Database
from shared.db.models import (
    OutboxMessage,
    Provider,
    ProviderUsage,
    Task,
    Tenant,
    UsageOutcome,
)
from shared.settings import Settings
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from shared.usage import ProviderCall, record_provider_call
from tests.support import amqp
from tests.support.amqp import task_envelope
from workers.outreach.actor import declare_outreach_actor
from workers.runtime.bootstrap import build_pool

pytestmark = pytest.mark.integration

CANARY = "sk-tenant-canary-5b0d1e2f3a4c-do-not-log"


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with start_sandbox_in_thread(SandboxConfig()) as sandbox:
        yield sandbox.base_url


@pytest.fixture(scope="module")
def worker(settings: Settings, sandbox_url: str) -> Iterator[None]:
    root = sandbox_url.removesuffix("/v1")
    pool_settings = settings.model_copy(
        update={
            "openai_base_url": sandbox_url,
            "anthropic_base_url": root,
            "gemini_base_url": f"{root}/v1beta",
            "worker_min_backoff_ms": 100,
        }
    )
    broker, boot = build_pool([declare_outreach_actor], pool_settings)
    boot.start()
    running = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
    running.start()
    yield
    running.stop()
    boot.stop()
    broker.close()


def _finished(
    db: Database, tenant_id: uuid.UUID, task_ids: list[str], timeout_s: float = 30
) -> list[Task]:
    deadline = time.monotonic() + timeout_s
    while True:
        with db.unit_of_work(tenant_id) as uow:
            tasks = [uow.session.get(Task, uuid.UUID(t)) for t in task_ids]
        if all(t is not None and t.status in ("completed", "failed") for t in tasks):
            return [t for t in tasks if t is not None]
        assert time.monotonic() < deadline, [t and t.status for t in tasks]
        time.sleep(0.1)


def _publish(settings: Settings, tenant: CreatedKey, targets: list[SeededTarget]) -> list[str]:
    envelopes = [task_envelope(tenant, target) for target in targets]
    amqp.publish(settings.broker_url, "outreach", [amqp.dramatiq_body(e) for e in envelopes])
    return [e["task_id"] for e in envelopes]


def test_a_tenant_over_budget_fails_fast_with_one_event_and_others_are_unaffected(
    worker: None, settings: Settings, db: Database, owner_db: Database, tenant: CreatedKey
) -> None:
    other = create_api_key(db, create_tenant(db, "Solvent Inc"))
    with db.unit_of_work(tenant.tenant_id) as uow:
        uow.session.execute(
            sa.update(Tenant)
            .where(Tenant.id == tenant.tenant_id)
            .values(monthly_budget_usd=Decimal("0.01"))
        )
        spend = ProviderCall(
            "openai", "gpt-4.1-mini", "generate_json", UsageOutcome.OK, tokens_in=30_000
        )
        record_provider_call(uow, settings, spend, tenant_id=tenant.tenant_id)
        uow.commit()
    broke = _publish(settings, tenant, seed_sample_crm(db, tenant.tenant_id, contacts=3))
    solvent = _publish(settings, other, seed_sample_crm(db, other.tenant_id, contacts=3))

    started = time.monotonic()
    refused = _finished(db, tenant.tenant_id, broke)
    served = _finished(db, other.tenant_id, solvent)

    assert time.monotonic() - started < 20
    assert {t.status for t in refused} == {"failed"}
    assert all("monthly budget of $0.0100 reached" in (t.error or "") for t in refused)
    assert all(t.attempts == 1 for t in refused), "a budget refusal is not retried"
    assert {t.status for t in served} == {"completed"}
    with owner_db.unit_of_work() as uow:
        announced = uow.session.scalars(
            sa.select(OutboxMessage.tenant_id).where(
                OutboxMessage.destination == "usage.budget_exceeded"
            )
        ).all()
    assert announced.count(tenant.tenant_id) == 1
    assert other.tenant_id not in announced


def test_each_tenants_calls_use_its_own_key_and_the_key_never_reaches_the_logs(
    worker: None,
    settings: Settings,
    sandbox_url: str,
    db: Database,
    tenant: CreatedKey,
    capfd: pytest.CaptureFixture[str],
) -> None:
    other = create_api_key(db, create_tenant(db, "Platform Key Co"))
    with db.unit_of_work(tenant.tenant_id) as uow:
        set_credential(uow, credential_cipher(settings), tenant.tenant_id, Provider.OPENAI, CANARY)
        uow.commit()
    root = sandbox_url.removesuffix("/v1")
    httpx.post(f"{root}/_sandbox/reset", timeout=5).raise_for_status()

    own = _publish(settings, tenant, seed_sample_crm(db, tenant.tenant_id, contacts=2))
    platform = _publish(settings, other, seed_sample_crm(db, other.tenant_id, contacts=2))
    assert {t.status for t in _finished(db, tenant.tenant_id, own)} == {"completed"}
    assert {t.status for t in _finished(db, other.tenant_id, platform)} == {"completed"}

    requests = httpx.get(f"{root}/_sandbox/requests", timeout=5).json()["requests"]
    fingerprints = [r["key_fingerprint"] for r in requests if r["provider"] == "openai"]
    canary_print = hashlib.sha256(CANARY.encode()).hexdigest()[:12]
    platform_key = settings.openai_api_key.get_secret_value()
    platform_print = hashlib.sha256(platform_key.encode()).hexdigest()[:12]
    assert fingerprints.count(canary_print) == 2
    # At least: a leftover task of another test would also use the platform key.
    assert fingerprints.count(platform_print) >= 2
    captured = capfd.readouterr()
    assert CANARY not in captured.out + captured.err


def test_a_tenants_provider_preference_routes_its_calls_and_its_usage(
    worker: None,
    settings: Settings,
    sandbox_url: str,
    db: Database,
    tenant: CreatedKey,
    api: httpx.Client,
) -> None:
    other = create_api_key(db, create_tenant(db, "Default Provider LLC"))
    chosen = api.patch(
        "/v1/tenant/settings",
        json={"llm_provider": "anthropic"},
        headers={"Authorization": f"Bearer {tenant.token}"},
    )
    bogus = api.patch(
        "/v1/tenant/settings",
        json={"llm_provider": "eliza"},
        headers={"Authorization": f"Bearer {tenant.token}"},
    )
    root = sandbox_url.removesuffix("/v1")
    httpx.post(f"{root}/_sandbox/reset", timeout=5).raise_for_status()

    anthropic_tasks = _publish(settings, tenant, seed_sample_crm(db, tenant.tenant_id, contacts=2))
    default_tasks = _publish(settings, other, seed_sample_crm(db, other.tenant_id, contacts=1))
    assert {t.status for t in _finished(db, tenant.tenant_id, anthropic_tasks)} == {"completed"}
    assert {t.status for t in _finished(db, other.tenant_id, default_tasks)} == {"completed"}

    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["settings"] == {"llm_provider": "anthropic"}
    assert bogus.status_code == 422
    requests = httpx.get(f"{root}/_sandbox/requests", timeout=5).json()["requests"]
    providers = [r["provider"] for r in requests]
    assert providers.count("anthropic") == 2
    assert providers.count("openai") >= 1
    with db.unit_of_work(tenant.tenant_id) as uow:
        billed = uow.session.execute(
            sa.select(ProviderUsage.provider, ProviderUsage.model, ProviderUsage.cost_usd).where(
                ProviderUsage.tenant_id == tenant.tenant_id
            )
        ).all()
    assert {(provider, model) for provider, model, _ in billed} == {
        ("anthropic", settings.anthropic_model)
    }
    assert all(cost > 0 for _, _, cost in billed)


def test_an_agents_configured_provider_overrides_the_tenants(
    worker: None,
    settings: Settings,
    sandbox_url: str,
    db: Database,
    tenant: CreatedKey,
    api: httpx.Client,
) -> None:
    headers = {"Authorization": f"Bearer {tenant.token}"}
    api.patch("/v1/tenant/settings", json={"llm_provider": "anthropic"}, headers=headers)
    agent = api.post(
        "/v1/agents",
        json={
            "agent_type": "outreach",
            "name": "Gemini drafter",
            "config": {"llmProvider": "gemini"},
        },
        headers=headers,
    )
    assert agent.status_code == 201, agent.text
    root = sandbox_url.removesuffix("/v1")
    httpx.post(f"{root}/_sandbox/reset", timeout=5).raise_for_status()
    target = seed_sample_crm(db, tenant.tenant_id, contacts=1)[0]
    envelope = task_envelope(tenant, target)
    envelope["input"]["agent_id"] = agent.json()["id"]

    amqp.publish(settings.broker_url, "outreach", [amqp.dramatiq_body(envelope)])
    [task] = _finished(db, tenant.tenant_id, [envelope["task_id"]])

    assert task.status == "completed", task.error
    providers = [
        r["provider"] for r in httpx.get(f"{root}/_sandbox/requests", timeout=5).json()["requests"]
    ]
    assert "gemini" in providers
    assert "anthropic" not in providers
