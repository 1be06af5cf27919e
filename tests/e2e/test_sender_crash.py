"""The sender killed (SIGKILL) mid-conversation, as a real ``dramatiq`` process fed by the relay.

Killed after the SMTP server stored the message and before it answered: the restarted sender
never sends it again; the send is ``outcome_unknown`` for a person to confirm by its
Message-ID. Killed while the server held RCPT TO (nothing accepted): the restarted sender
sends it, once.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator

import pytest

from services.demo.seed import SeededTarget, seed_sample_crm
from shared.db.database import Database
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.e2e.conftest import Stack, consumers_on
from tests.support.agent_runs import events_of
from tests.support.processes import BIN, wait_until
from tests.support.sender import QueuedSend, approve_and_queue, make_mailbox, send_row
from tests.support.smtp import RecordingSmtpServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def smtp() -> Iterator[RecordingSmtpServer]:
    with RecordingSmtpServer() as server:
        yield server


@pytest.fixture
def target(db: Database, tenant: CreatedKey) -> SeededTarget:
    return seed_sample_crm(db, tenant.tenant_id, contacts=1)[0]


def start_sender(stack: Stack, settings: Settings, name: str) -> None:
    """One sender process with one thread; rechecks of a busy send come after a second."""
    env = {**stack.env, "AGENTFLEET_SENDER_RETRY_BASE_S": "1"}
    argv = [str(BIN / "dramatiq"), "workers.pools.sender"]
    argv += ["--processes", "1", "--threads", "1", "--queues", "sender"]
    stack.processes.start(name, argv, env)
    wait_until(lambda: consumers_on(settings.broker_url, "sender") > 0, 60, f"{name} consuming")


def kill_sender(stack: Stack, name: str) -> None:
    process = stack.processes.processes.pop(name)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def status_of(db: Database, tenant_id: uuid.UUID, queued: QueuedSend) -> tuple[str, str | None]:
    send = send_row(db, tenant_id, queued.send_id)
    return send.status, send.phase


def test_a_sender_killed_after_the_server_took_the_message_never_sends_it_again(
    stack: Stack,
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    target: SeededTarget,
    smtp: RecordingSmtpServer,
) -> None:
    tenant_id = tenant.tenant_id
    make_mailbox(db, settings, tenant_id, smtp)
    start_sender(stack, settings, "sender-a1")
    hold = smtp.hold_at("data")

    queued = approve_and_queue(db, tenant_id, target)
    hold.wait_reached(60)
    kill_sender(stack, "sender-a1")

    assert smtp.count == 1
    assert status_of(db, tenant_id, queued) == ("sending", "transmitting")
    start_sender(stack, settings, "sender-a2")
    try:
        wait_until(
            lambda: status_of(db, tenant_id, queued)[0] == "outcome_unknown",
            60,
            "the send to be marked outcome_unknown",
        )
    finally:
        hold.release()
        stack.processes.stop("sender-a2")

    assert smtp.count == 1, "no second message went out"
    [received] = smtp.messages
    assert received.message["Message-ID"] == queued.message_id
    [event] = events_of(owner_db, tenant_id, "message.outcome_unknown")
    assert event.payload["payload"]["message_id"] == queued.message_id
    assert events_of(owner_db, tenant_id, "message.sent") == []


def test_a_sender_killed_before_the_server_accepted_anything_sends_once_after_restart(
    stack: Stack,
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    target: SeededTarget,
    smtp: RecordingSmtpServer,
) -> None:
    tenant_id = tenant.tenant_id
    make_mailbox(db, settings, tenant_id, smtp)
    start_sender(stack, settings, "sender-b1")
    hold = smtp.hold_at("rcpt")

    queued = approve_and_queue(db, tenant_id, target)
    hold.wait_reached(60)
    kill_sender(stack, "sender-b1")

    assert status_of(db, tenant_id, queued) == ("sending", "connecting")
    start_sender(stack, settings, "sender-b2")
    try:
        wait_until(lambda: status_of(db, tenant_id, queued)[0] == "sent", 60, "the send to be sent")
    finally:
        hold.release()
        stack.processes.stop("sender-b2")

    assert smtp.count == 1
    [received] = smtp.messages
    assert received.message["X-Agentfleet-Send-Key"] == f"send:{queued.draft_id}"
    assert send_row(db, tenant_id, queued.send_id).attempts == 2
    assert len(events_of(owner_db, tenant_id, "message.sent")) == 1
