"""Replies read from a mailbox's inbox over real IMAP (a test server on loopback) into real
Postgres: recorded once with their effects, unmatched mail passed over, a renumbered inbox
re-read without duplicates, a mailbox that cannot be read left with its error while the others
are read, and the scheduler polling due mailboxes once across replicas.

The scheduler tests run on a clock set in 2001 (as the scheduler's own tests do): mailboxes of
other tests did not exist then, so only this test's mailboxes are due.
"""

from __future__ import annotations

import ssl
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from shared.credentials import credential_cipher
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import Contact, InboundReply, Mailbox, OutboxMessage, Task
from shared.inbox import ImapOptions, MailboxPoll, PollState, poll_mailbox
from shared.sending.mailbox_admin import MailboxSpec, create_mailbox
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support.imap import ImapTestServer
from tests.support.replies import SentMessage, sent_message
from workers.scheduler import (
    Scheduler,
    SchedulerCycle,
    build_inbox_polling,
    build_scheduler,
)
from workers.scheduler.inbox import poll_due_mailboxes

pytestmark = pytest.mark.integration

LOGIN = ("sales@ours.example", 'a "quoted" pass\\word')
EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
NewMailbox = Callable[..., uuid.UUID]


@pytest.fixture
def imap() -> Iterator[ImapTestServer]:
    with ImapTestServer(LOGIN) as server:
        yield server


@pytest.fixture
def new_mailbox(db: Database, settings: Settings, tenant: CreatedKey) -> Iterator[NewMailbox]:
    """Makes mailboxes reading a test server's inbox; they are deactivated afterwards, so no
    later scheduler run tries the stopped server."""
    made: list[uuid.UUID] = []

    def make(
        server: ImapTestServer,
        *,
        password: str = LOGIN[1],
        created_at: datetime | None = None,
        poll_state: dict[str, Any] | None = None,
    ) -> uuid.UUID:
        spec = MailboxSpec(
            name=f"inbox-{uuid.uuid4().hex[:8]}",
            from_address=LOGIN[0],
            smtp_host="127.0.0.1",
            daily_cap=30,
            smtp_username=LOGIN[0],
            smtp_password=password,
            imap_host=server.host,
            imap_port=server.port,
        )
        with db.unit_of_work(tenant.tenant_id) as uow:
            view = create_mailbox(uow, credential_cipher(settings), tenant.tenant_id, spec)
            mailbox = uow.session.get_one(Mailbox, view.id)
            if created_at is not None:
                mailbox.created_at = created_at
            if poll_state is not None:
                mailbox.poll_state = poll_state
            uow.commit()
        made.append(view.id)
        return view.id

    yield make
    with db.unit_of_work(tenant.tenant_id) as uow:
        uow.session.execute(sa.update(Mailbox).where(Mailbox.id.in_(made)).values(is_active=False))
        uow.commit()


def reply_email(
    *,
    from_address: str,
    message_id: str,
    sent: datetime,
    in_reply_to: str | None = None,
    references: str | None = None,
    subject: str = "Re: A faster month-end close",
    text: str | None = "Sounds good, let's talk on Tuesday.",
    markup: str | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = LOGIN[0]
    message["Subject"] = subject
    message["Date"] = format_datetime(sent)
    message["Message-ID"] = message_id
    if in_reply_to is not None:
        message["In-Reply-To"] = in_reply_to
    if references is not None:
        message["References"] = references
    if text is not None:
        message.set_content(text)
    if markup is not None:
        if text is None:
            message.set_content(markup, subtype="html")
        else:
            message.add_alternative(markup, subtype="html")
    return bytes(message)


def poll(
    db: Database, settings: Settings, tenant: CreatedKey, mailbox_id: uuid.UUID
) -> MailboxPoll:
    with db.unit_of_work(tenant.tenant_id) as uow:
        mailbox = uow.session.get_one(Mailbox, mailbox_id)
    options = ImapOptions(timeout_s=10, tls_context=ssl.create_default_context())
    return poll_mailbox(db, credential_cipher(settings), options, mailbox, now=utcnow(), limit=100)


def poll_state(db: Database, tenant: CreatedKey, mailbox_id: uuid.UUID) -> PollState:
    with db.unit_of_work(tenant.tenant_id) as uow:
        return PollState.from_json(uow.session.get_one(Mailbox, mailbox_id).poll_state)


def replies(db: Database, tenant: CreatedKey) -> list[InboundReply]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        return list(uow.session.scalars(sa.select(InboundReply).order_by(InboundReply.received_at)))


def outbox(db: Database, tenant: CreatedKey, kind: str, destination: str) -> list[dict[str, Any]]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        rows = uow.session.scalars(
            sa.select(OutboxMessage.payload).where(
                OutboxMessage.kind == kind, OutboxMessage.destination == destination
            )
        )
        return list(rows)


def whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


@pytest.fixture
def sent_at() -> datetime:
    return whole_seconds(utcnow()) - timedelta(hours=3)


@pytest.fixture
def message(
    db: Database, tenant: CreatedKey, targets: list[SeededTarget], sent_at: datetime
) -> SentMessage:
    """Sent to the first contact at ``sent_at``, its follow-up held for three days."""
    return sent_message(
        db, tenant.tenant_id, targets[0].contact_id, sent_at=sent_at, followup_in_days=3
    )


def test_a_reply_in_the_inbox_is_recorded_once_with_its_effects(
    db: Database,
    settings: Settings,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    imap: ImapTestServer,
    new_mailbox: NewMailbox,
    message: SentMessage,
    sent_at: datetime,
) -> None:
    mailbox_id = new_mailbox(imap)
    sent_back = sent_at + timedelta(hours=2)
    uid = imap.add_message(
        reply_email(
            from_address=f"Maya <{message.to_address}>",
            message_id="<reply-1@client.example>",
            sent=sent_back,
            in_reply_to=message.message_id,
        )
    )

    first = poll(db, settings, tenant, mailbox_id)
    again = poll(db, settings, tenant, mailbox_id)

    assert (first.recorded, first.repeated, first.unmatched, first.error) == (1, 0, 0, None)
    assert (again.recorded, again.repeated, again.unmatched, again.error) == (0, 0, 0, None)
    [reply] = replies(db, tenant)
    assert (reply.source, reply.send_id, reply.contact_id) == (
        "imap",
        message.send_id,
        targets[0].contact_id,
    )
    assert (reply.message_id, reply.in_reply_to) == ("<reply-1@client.example>", message.message_id)
    assert (reply.received_at, reply.response_time_s) == (sent_back, 7200)
    assert reply.body == "Sounds good, let's talk on Tuesday."
    assert reply.from_address == message.to_address
    assert message.followup_task_id is not None
    with db.unit_of_work(tenant.tenant_id) as uow:
        followup = uow.session.get_one(Task, message.followup_task_id)
        classify = uow.session.get_one(Task, reply.task_id)
        contact = uow.session.get_one(Contact, targets[0].contact_id)
    assert (followup.status, followup.error) == ("cancelled", "the contact replied")
    assert (classify.task_type, classify.status, classify.input) == (
        "classify_reply",
        "pending",
        {"reply_id": str(reply.id)},
    )
    assert [row["task_id"] for row in outbox(db, tenant, "task", "followup")] == [str(classify.id)]
    assert len(outbox(db, tenant, "event", "reply.received")) == 1
    assert contact.outreach_status == "replied"
    state = poll_state(db, tenant, mailbox_id)
    assert (state.uidvalidity, state.last_uid, state.last_error) == (imap.uidvalidity(), uid, None)
    assert state.polled_at is not None
    # Read-only and peeked: the inbox's owner still sees the reply as unread.
    assert imap.seen_uids() == []
    assert "EXAMINE" in imap.command_names()
    assert "SELECT" not in imap.command_names()


def test_a_message_nothing_matches_is_skipped_and_the_poll_moves_past_it(
    db: Database,
    settings: Settings,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    imap: ImapTestServer,
    new_mailbox: NewMailbox,
) -> None:
    now = whole_seconds(utcnow())
    answered = sent_message(
        db, tenant.tenant_id, targets[1].contact_id, sent_at=now - timedelta(days=1)
    )
    mailbox_id = new_mailbox(imap)
    imap.add_message(
        reply_email(
            from_address="newsletter@elsewhere.example",
            message_id="<news-1@elsewhere.example>",
            sent=now - timedelta(hours=2),
            subject="This week's news",
        )
    )
    # Only References names our message, and the reply has an HTML body alone.
    last = imap.add_message(
        reply_email(
            from_address="someone.else@client.example",
            message_id="<reply-2@client.example>",
            sent=now - timedelta(hours=1),
            references=f"<thread-start@client.example> {answered.message_id}",
            subject="Re: Café meeting",
            text=None,
            markup="<html><head><style>p {color: red}</style></head><body>"
            "<p>Not now &amp; not next week.</p><p>Ask me in May</p></body></html>",
        )
    )

    first = poll(db, settings, tenant, mailbox_id)
    again = poll(db, settings, tenant, mailbox_id)

    assert (first.recorded, first.unmatched, first.error) == (1, 1, None)
    assert (again.recorded, again.unmatched) == (0, 0)
    [reply] = replies(db, tenant)
    assert (reply.send_id, reply.contact_id) == (answered.send_id, targets[1].contact_id)
    assert reply.in_reply_to == answered.message_id
    assert reply.subject == "Re: Café meeting"
    assert reply.body == "Not now & not next week.\nAsk me in May"
    state = poll_state(db, tenant, mailbox_id)
    assert (state.last_uid, state.last_error) == (last, None)


def test_a_new_uidvalidity_rereads_the_inbox_without_duplicating_replies(
    db: Database,
    settings: Settings,
    tenant: CreatedKey,
    imap: ImapTestServer,
    new_mailbox: NewMailbox,
    message: SentMessage,
) -> None:
    mailbox_id = new_mailbox(imap)
    now = whole_seconds(utcnow())
    imap.add_message(
        reply_email(
            from_address=message.to_address,
            message_id="<reply-3@client.example>",
            sent=now - timedelta(hours=2),
            in_reply_to=message.message_id,
        )
    )
    before = poll(db, settings, tenant, mailbox_id)
    old_validity = imap.uidvalidity()

    new_validity = imap.renumber()
    imap.add_message(
        reply_email(
            from_address=message.to_address,
            message_id="<reply-4@client.example>",
            sent=now - timedelta(hours=1),
            in_reply_to=message.message_id,
            text="One more thing: can we include finance?",
        )
    )
    after = poll(db, settings, tenant, mailbox_id)

    assert before.recorded == 1
    assert (after.recorded, after.repeated) == (1, 1)
    assert [reply.message_id for reply in replies(db, tenant)] == [
        "<reply-3@client.example>",
        "<reply-4@client.example>",
    ]
    state = poll_state(db, tenant, mailbox_id)
    assert new_validity != old_validity
    assert (state.uidvalidity, state.last_uid) == (new_validity, 2)


def test_a_mailbox_refusing_the_login_keeps_its_error_and_the_others_are_read(
    db: Database,
    settings: Settings,
    tenant: CreatedKey,
    imap: ImapTestServer,
    new_mailbox: NewMailbox,
    message: SentMessage,
) -> None:
    now = utcnow()
    with ImapTestServer(LOGIN) as refusing:
        refusing.add_message(
            reply_email(
                from_address=message.to_address,
                message_id="<never-read@client.example>",
                sent=now - timedelta(hours=1),
                in_reply_to=message.message_id,
            )
        )
        broken = new_mailbox(refusing, password="not the password")
        working = new_mailbox(imap)
        imap.add_message(
            reply_email(
                from_address=message.to_address,
                message_id="<reply-5@client.example>",
                sent=now - timedelta(hours=1),
                in_reply_to=message.message_id,
            )
        )

        polled_at = utcnow()
        outcome = poll_due_mailboxes(
            db, build_inbox_polling(settings), tenant.tenant_id, polled_at, limit=10
        )

    assert (outcome.polled, outcome.replies, outcome.failed) == (2, 1, 1)
    assert refusing.refused_logins == [LOGIN[0]]
    failed = poll_state(db, tenant, broken)
    assert failed.last_error is not None
    assert "AUTHENTICATIONFAILED" in failed.last_error
    assert LOGIN[1] not in failed.last_error
    assert (failed.uidvalidity, failed.last_uid, failed.polled_at) == (None, 0, polled_at)
    read = poll_state(db, tenant, working)
    assert (read.last_error, read.last_uid) == (None, 1)
    assert [reply.message_id for reply in replies(db, tenant)] == ["<reply-5@client.example>"]


def run_together(replicas: list[Scheduler]) -> list[SchedulerCycle]:
    """One cycle of every replica at the same time, each in its own thread."""
    barrier = threading.Barrier(len(replicas))
    results: list[SchedulerCycle] = []
    errors: list[BaseException] = []

    def run(scheduler: Scheduler) -> None:
        try:
            barrier.wait(timeout=30)
            results.append(scheduler.cycle())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(replica,)) for replica in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_the_scheduler_polls_due_mailboxes_once_across_replicas(
    db: Database,
    settings: Settings,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    new_mailbox: NewMailbox,
) -> None:
    clock_now = [EPOCH]
    every_minute = settings.model_copy(update={"mailbox_poll_interval_s": 60.0})
    built = [build_scheduler(every_minute, clock=lambda: clock_now[0]) for _ in range(2)]
    answered = sent_message(
        db, tenant.tenant_id, targets[0].contact_id, sent_at=EPOCH - timedelta(hours=3)
    )

    def reply(number: int) -> bytes:
        return reply_email(
            from_address=answered.to_address,
            message_id=f"<scheduled-{number}@client.example>",
            sent=EPOCH - timedelta(hours=1),
            in_reply_to=answered.message_id,
        )

    try:
        with ImapTestServer(LOGIN) as due, ImapTestServer(LOGIN) as recent:
            due.add_message(reply(1))
            recent.add_message(reply(2))
            never_polled = new_mailbox(due, created_at=EPOCH - timedelta(days=1))
            new_mailbox(
                recent,
                created_at=EPOCH - timedelta(days=1),
                poll_state=PollState(
                    recent.uidvalidity(), 0, EPOCH - timedelta(seconds=10)
                ).to_json(),
            )

            first = built[0][0].cycle()
            polled_first = (list(due.logins), list(recent.logins))

            clock_now[0] = EPOCH + timedelta(minutes=2)
            raced = run_together([scheduler for scheduler, _ in built])
    finally:
        for _, database in built:
            database.dispose()

    assert (first.polled, first.replies, first.failed_tenants) == (1, 1, 0)
    assert polled_first == ([LOGIN[0]], [])
    assert sum(result.polled for result in raced) == 2
    assert sum(result.replies for result in raced) == 1
    assert (due.logins, recent.logins) == ([LOGIN[0]] * 2, [LOGIN[0]])
    assert sorted(reply.message_id or "" for reply in replies(db, tenant)) == [
        "<scheduled-1@client.example>",
        "<scheduled-2@client.example>",
    ]
    assert poll_state(db, tenant, never_polled).polled_at == EPOCH + timedelta(minutes=2)
