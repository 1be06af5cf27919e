"""``make demo``: a prospecting run from an ICP through all six agents, a batch of outreach
tasks for a seeded CRM, then a review round (approve, edit, reject; the approved messages sent
over SMTP; a reply classified), all through the HTTP API; prints what came out."""

from __future__ import annotations

import collections
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

from services.demo.embedded import DIFFERENCES, EmbeddedStack, embedded_api, start_embedded
from services.demo.prospecting import run_prospecting
from services.demo.review import review_and_send
from services.demo.seed import seed_sample_crm
from services.serving import serve_app
from shared.lifecycles import TaskPriority
from shared.tenancy import create_api_key, create_tenant

__all__ = ["run_demo"]

_PRIORITIES = (TaskPriority.MEDIUM, TaskPriority.HIGH, TaskPriority.LOW, TaskPriority.URGENT)


def run_demo(*, tasks: int = 24, workdir: str | None = None, timeout_s: float = 50) -> int:
    started = time.monotonic()
    directory = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="agentfleet-demo-"))
    print("agentfleet demo — embedded mode (no external services)")
    for line in DIFFERENCES:
        print(f"  · {line}")
    stack = start_embedded(directory)
    try:
        with serve_app(embedded_api(stack)) as api_url:
            prospecting_ok = _prospect(stack, api_url, timeout_s)
            outreach_ok, headers = _run(stack, api_url, tasks, timeout_s, started)
            with httpx.Client(base_url=api_url, headers=headers, timeout=30) as client:
                review_ok = outreach_ok and review_and_send(client, stack.mail, timeout_s)
            print(f"elapsed: {time.monotonic() - started:.1f}s")
            return 0 if prospecting_ok and outreach_ok and review_ok else 1
    finally:
        stack.stop()


def _prospect(stack: EmbeddedStack, api_url: str, timeout_s: float) -> bool:
    tenant_id = create_tenant(stack.db, "Prospecting Demo", slug="prospecting-demo")
    key = create_api_key(stack.db, tenant_id, name="demo")
    headers = {"Authorization": f"Bearer {key.token}"}
    print("\nprospecting run: ICP → lead_source → enrichment → contact_finder → scoring → outreach")
    with httpx.Client(base_url=api_url, headers=headers, timeout=30) as client:
        result = run_prospecting(client, stack.db, tenant_id, timeout_s)
        queue = client.get("/v1/approvals", params={"limit": 3}).json()
    for agent_type in ("lead_source", "enrichment", "contact_finder", "scoring", "outreach"):
        counts = result.tasks_by_type.get(agent_type, collections.Counter[str]())
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"
        print(f"  {agent_type:<15} tasks: {summary}")
    print(f"  accounts: {len(result.accounts)} · contacts: {result.contacts}")
    for name, score in result.accounts:
        print(f"    {name:<28} score {score if score is None else f'{score:.2f}'}")
    _print_queue(queue)
    return result.succeeded


def _run(
    stack: EmbeddedStack, api_url: str, count: int, timeout_s: float, started: float
) -> tuple[bool, dict[str, str]]:
    """The outreach batch; whether every draft reached the queue, and the tenant's headers."""
    tenant_id = create_tenant(stack.db, "Demo Tenant", slug="demo")
    key = create_api_key(stack.db, tenant_id, name="demo")
    targets = seed_sample_crm(stack.db, tenant_id, contacts=count)
    print(f"\nseeded tenant {tenant_id} with {len(targets)} contacts at 6 accounts")
    headers = {"Authorization": f"Bearer {key.token}"}
    with httpx.Client(base_url=api_url, headers=headers, timeout=30) as client:
        task_ids = []
        for index, target in enumerate(targets):
            body: dict[str, Any] = {
                "agent_type": "outreach",
                "task_type": "draft_outreach",
                "priority": _PRIORITIES[index % len(_PRIORITIES)].value,
                "input": {
                    "contact_id": str(target.contact_id),
                    "opportunity_id": str(target.opportunity_id),
                    "channel": "linkedin" if index % 5 == 4 else "email",
                    "tone": ("professional", "friendly", "casual")[index % 3],
                },
            }
            response = client.post(
                "/v1/tasks", json=body, headers={"Idempotency-Key": f"demo-{index}"}
            )
            response.raise_for_status()
            task_ids.append(response.json()["id"])
        print(f"submitted {len(task_ids)} outreach tasks over HTTP (202 Accepted)")
        statuses = _wait_for(client, task_ids, timeout_s)
        queue = client.get("/v1/approvals", params={"limit": 200}).json()
    _print_queue(queue)
    by_type = collections.Counter(event["event_type"] for event in stack.events)
    done = statuses.count("completed")
    print(
        f"\ntasks: {done}/{len(task_ids)} completed, {statuses.count('failed')} failed · "
        f"pending approvals: {queue['total']} · dead letters: {len(stack.dead_letters.reasons)}"
    )
    print("events published: " + ", ".join(f"{k} {v}" for k, v in sorted(by_type.items())))
    print(f"outreach batch: {time.monotonic() - started:.1f}s")
    return done == len(task_ids) and queue["total"] == len(task_ids), headers


def _wait_for(client: httpx.Client, task_ids: list[str], timeout_s: float) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while True:
        statuses = [client.get(f"/v1/tasks/{task_id}").json()["status"] for task_id in task_ids]
        finished = sum(s in ("completed", "failed") for s in statuses)
        if finished == len(task_ids) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.25)


def _print_queue(queue: dict[str, Any]) -> None:
    shown = len(queue["items"])
    print(f"\napproval queue — {queue['total']} pending, urgent first (showing {shown}):\n")
    for number, item in enumerate(queue["items"], start=1):
        content = item["content"]
        print(f"{number:>2}. [{item['priority']:>6}] {item['title']}")
        if content.get("subject"):
            print(f"    subject: {content['subject']}")
        body = " ".join(content["body"].split())
        print(textwrap.indent(textwrap.fill(body, width=92, max_lines=2), "    "))
