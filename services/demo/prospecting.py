"""The demo's prospecting run: an ICP through lead_source → enrichment → contact_finder →
scoring → outreach, driven through the HTTP API like a console would."""

from __future__ import annotations

import collections
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from shared.db.database import Database
from shared.db.models import Account, Contact, Draft, Task

__all__ = ["PIPELINE_AGENTS", "ProspectingResult", "run_prospecting"]

PIPELINE_AGENTS: dict[str, dict[str, Any]] = {
    "lead_source": {
        "industries": ["computer software"],
        "locations": ["United States"],
        "employeeRanges": ["51,500"],
        "approvalRequired": False,
        "maxPagesPerRun": 1,
    },
    "research": {},
    "contact_finder": {"seniorities": ["c_suite", "vp", "director"], "maxContactsPerAccount": 3},
    "planning": {"minRelevanceScore": 0.3, "maxOpportunitiesPerDay": 50},
    "email_drafter": {"messageTone": "friendly", "includeAccountIntelligence": True},
}


@dataclass(frozen=True)
class ProspectingResult:
    run_id: str
    tasks_by_type: dict[str, collections.Counter[str]]
    accounts: list[tuple[str, float | None]]
    contacts: int
    drafts: int

    @property
    def succeeded(self) -> bool:
        statuses = {status for counts in self.tasks_by_type.values() for status in counts}
        return statuses == {"completed"} and self.drafts > 0


def run_prospecting(
    client: httpx.Client, db: Database, tenant_id: uuid.UUID, timeout_s: float
) -> ProspectingResult:
    """Create one agent per step (aliases welcome), start a run and wait for it to settle."""
    agents = {}
    for agent_type, config in PIPELINE_AGENTS.items():
        response = client.post(
            "/v1/agents",
            json={"agent_type": agent_type, "name": f"demo {agent_type}", "config": config},
        )
        response.raise_for_status()
        agents[agent_type] = response.json()["id"]
    started = client.post(
        f"/v1/agents/{agents['lead_source']}/tasks",
        json={
            "task_type": "source_leads",
            "input": {"run_pipeline": True, "per_page": 5, "contacts_per_account": 1},
        },
    )
    started.raise_for_status()
    _wait_settled(db, tenant_id, timeout_s)
    return _result(db, tenant_id, started.json()["id"])


def _wait_settled(db: Database, tenant_id: uuid.UUID, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    seen, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        with db.unit_of_work(tenant_id) as uow:
            statuses = uow.session.scalars(sa.select(Task.status)).all()
        busy = any(s in ("pending", "in_progress") for s in statuses)
        if busy or len(statuses) != seen:
            seen, quiet_since = len(statuses), time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            return
        time.sleep(0.2)


def _result(db: Database, tenant_id: uuid.UUID, run_id: str) -> ProspectingResult:
    with db.unit_of_work(tenant_id) as uow:
        session = uow.session
        by_type: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for agent_type, status in session.execute(sa.select(Task.agent_type, Task.status)):
            by_type[agent_type][status] += 1
        accounts = [
            (name, score)
            for name, score in session.execute(
                sa.select(Account.name, Account.score).order_by(Account.score.desc())
            )
        ]
        contacts = session.scalar(sa.select(sa.func.count()).select_from(Contact)) or 0
        drafts = session.scalar(sa.select(sa.func.count()).select_from(Draft)) or 0
    return ProspectingResult(run_id, dict(by_type), accounts, contacts, drafts)
