"""The sender's delivery against a real SMTP server (aiosmtpd in this process) and Postgres:
headers, effects, exactly once, suppression, daily caps, STARTTLS and AUTH, and what each kind
of SMTP failure leaves behind."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import (
    Contact,
    DailyMetric,
    Draft,
    OutboxMessage,
    SmtpSecurity,
    SuppressedAddress,
)
from shared.replies import IncomingReply, record_reply
from shared.sending.unsubscribe import verify_unsubscribe
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support.agent_runs import events_of, make_agent
from tests.support.sender import (
    BODY,
    SUBJECT,
    approve_and_queue,
    make_mailbox,
    send_row,
    sender_tools,
    set_send_state,
)
from tests.support.servers import free_port
from tests.support.smtp import RecordingSmtpServer, self_signed_tls
from workers.scheduler import build_scheduler
from workers.sender.locks import delivery_lock
from workers.sender.service import deliver_send

pytestmark = pytest.mark.integration


@pytest.fixture
def smtp() -> Iterator[RecordingSmtpServer]:
    with RecordingSmtpServer() as server:
        yield server


def suppress(db: Database, tenant_id: uuid.UUID, email: str) -> None:
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            SuppressedAddress(tenant_id=tenant_id, email=email.upper(), reason="unsubscribed")
        )
        uow.commit()


def contact_email(db: Database, tenant_id: uuid.UUID, target: SeededTarget) -> str:
    with db.unit_of_work(tenant_id) as uow:
        contact = uow.session.get(Contact, target.contact_id)
        assert contact is not None
        assert contact.email is not None
        return contact.email


def test_an_approved_email_goes_out_once_with_its_headers_and_effects(
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    smtp: RecordingSmtpServer,
) -> None:
    tenant_id = tenant.tenant_id
    agent_id = make_agent(db, tenant_id, "outreach")
    make_mailbox(db, settings, tenant_id, smtp)
    queued = approve_and_queue(db, tenant_id, targets[0], agent_id=agent_id)
    address = contact_email(db, tenant_id, targets[0])

    deliver_send(db, sender_tools(settings), queued.request)

    [received] = smtp.messages
    message = received.message
    assert received.rcpt_tos == (address,)
    assert received.mail_from == "sales@agentfleet.example"
    assert message["Message-ID"] == queued.message_id
    assert message["X-Agentfleet-Send-Key"] == f"send:{queued.draft_id}"
    assert message["Subject"] == SUBJECT
    assert message["To"].addresses[0].addr_spec == address
    assert message["Reply-To"] == "replies@agentfleet.example"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link, mailto = (part.strip(" <>") for part in message["List-Unsubscribe"].split(","))
    assert mailto == "mailto:sales@agentfleet.example?subject=unsubscribe"
    assert link.startswith(f"{settings.public_base_url}/v1/unsubscribe/")
    token = verify_unsubscribe(settings, link.rsplit("/", 1)[1])
    assert token is not None
    assert (token.tenant_id, token.email) == (tenant_id, address)
    body = message.get_body()
    assert body is not None
    assert body.get_content().replace("\r\n", "\n").strip() == BODY

    send = send_row(db, tenant_id, queued.send_id)
    assert (send.status, send.attempts) == ("sent", 1)
    assert send.sent_at is not None
    assert (send.server_response or "").startswith("250")
    with db.unit_of_work(tenant_id) as uow:
        draft = uow.session.get(Draft, queued.draft_id)
        contact = uow.session.get(Contact, targets[0].contact_id)
        metric = uow.session.scalars(
            sa.select(DailyMetric).where(DailyMetric.agent_id == agent_id)
        ).one()
    assert draft is not None
    assert contact is not None
    assert (draft.status, draft.sent_at) == ("sent", send.sent_at)
    assert (contact.outreach_status, contact.last_contacted_at) == ("contacted", send.sent_at)
    assert metric.messages_sent == 1
    [event] = [e.payload for e in events_of(owner_db, tenant_id, "message.sent")]
    assert event["aggregate_id"] == str(queued.send_id)
    assert event["payload"]["message_id"] == queued.message_id
    assert event["payload"]["to_address"] == address
    assert event["payload"]["followup_task_id"] is None

    deliver_send(db, sender_tools(settings), queued.request)

    assert smtp.count == 1, "a repeated delivery sends nothing"
    assert len(events_of(owner_db, tenant_id, "message.sent")) == 1


def test_an_address_suppressed_after_approval_is_never_sent_to(
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    smtp: RecordingSmtpServer,
) -> None:
    tenant_id = tenant.tenant_id
    make_mailbox(db, settings, tenant_id, smtp)
    queued = approve_and_queue(db, tenant_id, targets[0])
    suppress(db, tenant_id, contact_email(db, tenant_id, targets[0]))

    deliver_send(db, sender_tools(settings), queued.request)
    later = approve_and_queue(db, tenant_id, targets[0])
    deliver_send(db, sender_tools(settings), later.request)

    assert smtp.count == 0
    assert send_row(db, tenant_id, queued.send_id).status == "suppressed"
    assert send_row(db, tenant_id, later.send_id).status == "suppressed"
    suppressed = {
        e.payload["aggregate_id"] for e in events_of(owner_db, tenant_id, "message.suppressed")
    }
    assert suppressed == {str(queued.send_id), str(later.send_id)}


def test_an_unsubscribe_during_the_conversation_stops_the_send_before_data(
    settings: Settings,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    smtp: RecordingSmtpServer,
) -> None:
    tenant_id = tenant.tenant_id
    make_mailbox(db, settings, tenant_id, smtp)
    queued = approve_and_queue(db, tenant_id, targets[1])
    hold = smtp.hold_at("rcpt")
    delivery = threading.Thread(
        target=deliver_send, args=(db, sender_tools(settings), queued.request)
    )
    delivery.start()
    hold.wait_reached()

    suppress(db, tenant_id, contact_email(db, tenant_id, targets[1]))
    hold.release()
    delivery.join(30)

    assert not delivery.is_alive()
    assert smtp.count == 0
    assert send_row(db, tenant_id, queued.send_id).status == "suppressed"


def test_a_mailbox_cap_defers_the_rest_to_the_next_utc_midnight(
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    smtp: RecordingSmtpServer,
) -> None:
    # The scheduler runs on a clock in 2001 (see test_scheduler): nothing of other tests is due.
    tenant_id = tenant.tenant_id
    today = datetime(2001, 1, 1, 22, 30, tzinfo=UTC)
    midnight = datetime(2001, 1, 2, tzinfo=UTC)
    make_mailbox(db, settings, tenant_id, smtp, daily_cap=2)
    queued = [approve_and_queue(db, tenant_id, target) for target in targets[:3]]

    for send in queued:
        deliver_send(db, sender_tools(settings, clock=lambda: today), send.request)

    assert smtp.count == 2
    statuses = [send_row(db, tenant_id, q.send_id) for q in queued]
    assert [s.status for s in statuses] == ["sent", "sent", "deferred"]
    held = statuses[2]
    assert held.not_before == midnight
    assert "daily cap of 2" in (held.last_error or "")
    assert held.attempts == 0, "a cap defers without spending an attempt"
    [deferred] = events_of(owner_db, tenant_id, "message.deferred")
    assert deferred.payload["payload"]["not_before"] == midnight.isoformat()

    scheduler, scheduler_db = build_scheduler(settings, clock=lambda: midnight)
    try:
        cycle = scheduler.cycle()
    finally:
        scheduler_db.dispose()

    assert cycle.sends >= 1
    requeued = send_row(db, tenant_id, queued[2].send_id)
    assert requeued.status == "queued"
    with owner_db.unit_of_work(None) as uow:
        keys = uow.session.scalars(
            sa.select(OutboxMessage.dedup_key).where(
                OutboxMessage.tenant_id == tenant_id, OutboxMessage.destination == "sender"
            )
        ).all()
    assert f"send:{queued[2].draft_id}:due:{requeued.version}" in keys

    tomorrow = midnight + timedelta(hours=1)
    deliver_send(db, sender_tools(settings, clock=lambda: tomorrow), queued[2].request)

    assert smtp.count == 3
    assert send_row(db, tenant_id, queued[2].send_id).status == "sent"


def test_starttls_and_auth_are_used_as_the_mailbox_configures(
    settings: Settings,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    tmp_path: Path,
) -> None:
    server_tls, client_tls = self_signed_tls(tmp_path)
    credentials = ("sales@agentfleet.example", "s3cret-smtp-password")
    with RecordingSmtpServer(credentials=credentials, tls=server_tls) as smtp:
        make_mailbox(
            db,
            settings,
            tenant.tenant_id,
            smtp,
            security=SmtpSecurity.STARTTLS,
            credentials=credentials,
        )
        queued = approve_and_queue(db, tenant.tenant_id, targets[0])

        deliver_send(db, sender_tools(settings, tls_context=client_tls), queued.request)

        assert smtp.count == 1
        assert smtp.logins == [credentials[0]]
        assert smtp.secured_sessions == 1
    assert send_row(db, tenant.tenant_id, queued.send_id).status == "sent"


def test_a_certificate_the_sender_does_not_trust_is_not_sent_to(
    settings: Settings,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    tmp_path: Path,
) -> None:
    server_tls, _ = self_signed_tls(tmp_path)
    with RecordingSmtpServer(tls=server_tls) as smtp:
        make_mailbox(db, settings, tenant.tenant_id, smtp, security=SmtpSecurity.STARTTLS)
        queued = approve_and_queue(db, tenant.tenant_id, targets[0])

        deliver_send(db, sender_tools(settings), queued.request)

        assert smtp.count == 0
    send = send_row(db, tenant.tenant_id, queued.send_id)
    assert send.status == "deferred"
    assert "STARTTLS" in (send.last_error or "")


def test_a_refused_recipient_fails_the_send(
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
) -> None:
    with RecordingSmtpServer(rcpt_reply="550 5.1.1 No such user here") as smtp:
        make_mailbox(db, settings, tenant.tenant_id, smtp)
        queued = approve_and_queue(db, tenant.tenant_id, targets[0])

        deliver_send(db, sender_tools(settings), queued.request)

        assert smtp.count == 0
    send = send_row(db, tenant.tenant_id, queued.send_id)
    assert send.status == "failed"
    assert "550" in (send.last_error or "")
    assert "No such user" in (send.last_error or "")
    assert len(events_of(owner_db, tenant.tenant_id, "message.failed")) == 1


def test_a_temporary_refusal_defers_with_backoff_until_the_attempts_are_spent(
    settings: Settings, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    now = datetime(2031, 5, 6, 9, 0, tzinfo=UTC)
    retrying = settings.model_copy(update={"sender_max_attempts": 2, "sender_retry_base_s": 60})
    with RecordingSmtpServer(rcpt_reply="451 4.3.0 Try again later") as smtp:
        make_mailbox(db, settings, tenant.tenant_id, smtp)
        queued = approve_and_queue(db, tenant.tenant_id, targets[0])

        deliver_send(db, sender_tools(retrying, clock=lambda: now), queued.request)
        first = send_row(db, tenant.tenant_id, queued.send_id)
        later = now + timedelta(minutes=5)
        deliver_send(db, sender_tools(retrying, clock=lambda: later), queued.request)

    assert (first.status, first.attempts) == ("deferred", 1)
    assert first.not_before == now + timedelta(seconds=60)
    assert "451" in (first.last_error or "")
    second = send_row(db, tenant.tenant_id, queued.send_id)
    assert (second.status, second.attempts) == ("failed", 2)
    assert "gave up after 2 attempts" in (second.last_error or "")


def test_an_unreachable_server_defers_the_send(
    settings: Settings, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    make_mailbox(db, settings, tenant.tenant_id, None, port=free_port())
    queued = approve_and_queue(db, tenant.tenant_id, targets[0])

    deliver_send(db, sender_tools(settings), queued.request)

    send = send_row(db, tenant.tenant_id, queued.send_id)
    assert (send.status, send.attempts) == ("deferred", 1)
    assert "connect" in (send.last_error or "")


def test_no_mailbox_anywhere_fails_the_send_with_the_reason(
    settings: Settings, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    queued = approve_and_queue(db, tenant.tenant_id, targets[0])

    deliver_send(db, sender_tools(settings), queued.request)

    send = send_row(db, tenant.tenant_id, queued.send_id)
    assert send.status == "failed"
    assert "no active mailbox" in (send.last_error or "")


def test_the_platform_mailbox_carries_sends_of_tenants_without_one(
    settings: Settings,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    smtp: RecordingSmtpServer,
) -> None:
    platform = settings.model_copy(
        update={
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_security": "none",
            "mail_from": "outreach@platform.example",
        }
    )
    queued = approve_and_queue(
        db, tenant.tenant_id, targets[0], platform_from="outreach@platform.example"
    )

    deliver_send(db, sender_tools(platform), queued.request)

    [received] = smtp.messages
    assert received.mail_from == "outreach@platform.example"
    assert received.message["Message-ID"] == f"<{queued.draft_id}.send@platform.example>"
    send = send_row(db, tenant.tenant_id, queued.send_id)
    assert (send.status, send.mailbox_id) == ("sent", None)


def test_a_connection_lost_while_waiting_for_the_reply_leaves_the_outcome_unknown(
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    smtp: RecordingSmtpServer,
) -> None:
    impatient = settings.model_copy(update={"smtp_timeout_s": 1.0})
    make_mailbox(db, settings, tenant.tenant_id, smtp)
    queued = approve_and_queue(db, tenant.tenant_id, targets[0])
    hold = smtp.hold_at("data")

    deliver_send(db, sender_tools(impatient), queued.request)
    hold.release()
    deliver_send(db, sender_tools(settings), queued.request)

    assert smtp.count == 1
    send = send_row(db, tenant.tenant_id, queued.send_id)
    assert (send.status, send.phase) == ("outcome_unknown", "transmitting")
    [event] = events_of(owner_db, tenant.tenant_id, "message.outcome_unknown")
    assert event.payload["payload"]["message_id"] == queued.message_id


def test_a_send_left_connecting_by_a_dead_sender_is_sent_again(
    settings: Settings,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    smtp: RecordingSmtpServer,
) -> None:
    make_mailbox(db, settings, tenant.tenant_id, smtp)
    queued = approve_and_queue(db, tenant.tenant_id, targets[0])
    set_send_state(
        db, tenant.tenant_id, queued.send_id, status="sending", phase="connecting", attempts=1
    )

    deliver_send(db, sender_tools(settings), queued.request)

    assert smtp.count == 1
    send = send_row(db, tenant.tenant_id, queued.send_id)
    assert (send.status, send.attempts) == ("sent", 2)


def test_a_send_left_transmitting_by_a_dead_sender_is_never_sent_again(
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    smtp: RecordingSmtpServer,
) -> None:
    make_mailbox(db, settings, tenant.tenant_id, smtp)
    queued = approve_and_queue(db, tenant.tenant_id, targets[0])
    set_send_state(
        db, tenant.tenant_id, queued.send_id, status="sending", phase="transmitting", attempts=1
    )

    deliver_send(db, sender_tools(settings), queued.request)

    assert smtp.count == 0
    assert send_row(db, tenant.tenant_id, queued.send_id).status == "outcome_unknown"
    assert len(events_of(owner_db, tenant.tenant_id, "message.outcome_unknown")) == 1


def test_a_send_another_live_sender_holds_is_left_to_it_and_checked_later(
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    smtp: RecordingSmtpServer,
) -> None:
    make_mailbox(db, settings, tenant.tenant_id, smtp)
    queued = approve_and_queue(db, tenant.tenant_id, targets[0])
    set_send_state(
        db, tenant.tenant_id, queued.send_id, status="sending", phase="transmitting", attempts=1
    )

    with delivery_lock(db.engine, queued.send_id) as held:
        assert held
        deliver_send(db, sender_tools(settings), queued.request)

    assert smtp.count == 0
    assert send_row(db, tenant.tenant_id, queued.send_id).status == "sending"
    with owner_db.unit_of_work(None) as uow:
        rechecks = uow.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.tenant_id == tenant.tenant_id,
                OutboxMessage.dedup_key.like(f"send:{queued.draft_id}:recheck:%"),
            )
        ).all()
    [recheck] = rechecks
    assert recheck.available_at > recheck.created_at
    assert recheck.payload["send_id"] == str(queued.send_id)


def test_a_followup_approved_after_the_contact_replied_is_not_sent(
    settings: Settings,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    smtp: RecordingSmtpServer,
) -> None:
    tenant_id = tenant.tenant_id
    make_mailbox(db, settings, tenant_id, smtp)
    first = approve_and_queue(db, tenant_id, targets[0])
    deliver_send(db, sender_tools(settings), first.request)
    followup = approve_and_queue(
        db,
        tenant_id,
        targets[0],
        agent_type="followup",
        personalization={"followup": {"attempt": 1, "original_draft_id": str(first.draft_id)}},
    )
    with db.unit_of_work(tenant_id) as uow:
        record_reply(
            uow,
            tenant_id,
            IncomingReply(
                body="Thanks, we are all set.", received_at=utcnow(), in_reply_to=first.message_id
            ),
        )
        uow.commit()

    deliver_send(db, sender_tools(settings), followup.request)

    assert smtp.count == 1
    settled = send_row(db, tenant_id, followup.send_id)
    assert settled.status == "suppressed"
    assert "replied" in (settled.last_error or "")
