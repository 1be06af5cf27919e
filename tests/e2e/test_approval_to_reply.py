"""From draft to reply over real processes: an edited approval goes out once over SMTP with its
unsubscribe headers, schedules a follow-up, and a reply cancels it and counts as a response."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from services.demo.seed import seed_sample_crm
from shared.db.database import Database
from shared.db.models import Contact
from shared.sending.unsubscribe import verify_unsubscribe
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.e2e.conftest import Stack, consumers_on
from tests.support.api import auth
from tests.support.processes import wait_until
from tests.support.smtp import RecordingSmtpServer

pytestmark = pytest.mark.e2e

EDITED_BODY = "Hi there,\n\nA shorter note, edited by the reviewer.\n\nBest,\nSam"


@pytest.fixture
def api(stack: Stack, tenant: CreatedKey) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url, headers=auth(tenant.token), timeout=30) as client:
        yield client


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201, 202), response.text
    body: dict[str, Any] = response.json()
    return body


def first_pending_item(api: httpx.Client, contact_id: uuid.UUID) -> dict[str, Any] | None:
    page = api.get("/v1/approvals", params={"contact_id": str(contact_id)}).json()
    items: list[dict[str, Any]] = page["items"]
    return items[0] if items else None


def consuming(settings: Settings, queue: str) -> Callable[[], bool]:
    return lambda: consumers_on(settings.broker_url, queue) > 0


def task_status(api: httpx.Client, task_id: str) -> str:
    status: str = api.get(f"/v1/tasks/{task_id}").json()["status"]
    return status


def test_an_edited_approval_is_sent_once_and_a_reply_cancels_its_followup(
    stack: Stack, settings: Settings, db: Database, tenant: CreatedKey, api: httpx.Client
) -> None:
    target = seed_sample_crm(db, tenant.tenant_id, contacts=1)[0]
    with db.unit_of_work(tenant.tenant_id) as uow:
        contact = uow.session.get(Contact, target.contact_id)
        assert contact is not None
        assert contact.email
        email = contact.email.lower()
    for pool in ("sender", "followup"):
        stack.start_worker(pool, pool)
    for pool in ("sender", "followup"):
        wait_until(consuming(settings, pool), 60, f"the {pool} pool")
    with RecordingSmtpServer() as smtp:
        created(
            api.post(
                "/v1/mailboxes",
                json={
                    "name": "sales",
                    "from_address": "sam@sender.example",
                    "from_name": "Sam",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": smtp.port,
                    "smtp_security": "none",
                    "is_default": True,
                },
            )
        )
        outreach = created(
            api.post(
                "/v1/agents",
                json={
                    "agent_type": "outreach",
                    "name": "Outreach",
                    "config": {"notifyFollowupAgent": True, "defaultFollowupDelayDays": 3},
                },
            )
        )["id"]
        created(api.post("/v1/agents", json={"agent_type": "followup", "name": "Follow-ups"}))
        created(
            api.post(
                f"/v1/agents/{outreach}/tasks",
                json={
                    "task_type": "draft_outreach",
                    "input": {"contact_id": str(target.contact_id), "channel": "email"},
                },
            )
        )
        wait_until(lambda: first_pending_item(api, target.contact_id) is not None, 60, "a draft")
        item = first_pending_item(api, target.contact_id)
        assert item is not None

        approved = api.post(
            f"/v1/approvals/{item['id']}/approve",
            json={"version": item["version"], "body": EDITED_BODY},
        )
        [received] = smtp.wait_for_messages(1, timeout_s=60)
        sent = api.get("/v1/sends", params={"contact_id": str(target.contact_id)}).json()
        wait_until(
            lambda: api.get("/v1/sends", params={"status": "sent"}).json()["total"] == 1,
            30,
            "the send recorded as sent",
        )
        followups = api.get("/v1/tasks", params={"status": "pending", "agent_type": "followup"})

        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "edited"
        message = received.message
        assert message.get_content().replace("\r\n", "\n").strip() == EDITED_BODY
        assert received.rcpt_tos == (email,)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = str(message["List-Unsubscribe"]).split(",")[0].strip().strip("<>")
        token = verify_unsubscribe(settings, link.rsplit("/", 1)[1])
        assert token is not None
        assert token.email == email
        assert sent["total"] == 1
        [followup] = followups.json()["items"]
        due = datetime.fromisoformat(followup["scheduled_at"])
        assert timedelta(days=2, hours=23) < due - datetime.now(due.tzinfo) <= timedelta(days=3)

        reply = created(
            api.post(
                "/v1/replies",
                json={
                    "in_reply_to": message["Message-ID"],
                    "from_address": email,
                    "subject": f"Re: {message['Subject']}",
                    "body": "Sounds good, I am interested. Let's talk next week.",
                },
            )
        )
        wait_until(lambda: task_status(api, followup["id"]) == "cancelled", 30, "the follow-up")

        def response_rate() -> float | None:
            report = api.get(f"/v1/agents/{outreach}/metrics").json()
            rate: float | None = report["summary"]["response_rate"]
            return rate

        wait_until(lambda: response_rate() == 1.0, 60, "the reply counted as a response")

        assert reply["stopped_followup_task_ids"] == [followup["id"]]
        assert smtp.count == 1
