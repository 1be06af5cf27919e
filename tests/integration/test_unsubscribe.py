"""One-click unsubscribe: a GET changes nothing, a forged token changes nothing, a POST puts the
address on the suppression list for good — whatever is approved later."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa

from shared.db.database import Database
from shared.db.models import (
    Contact,
    MessageSend,
    OutboxMessage,
    SuppressedAddress,
    SuppressionReason,
    Tenant,
)
from shared.sending.queue import SENDER_QUEUE
from shared.sending.suppression import suppress_address
from shared.sending.unsubscribe import sign_unsubscribe, unsubscribe_url
from shared.settings import Settings
from shared.tenancy import CreatedKey, create_tenant
from tests.integration.test_api_sends import add_contact, approved_send, events_about

pytestmark = pytest.mark.integration

ADDRESS = "Kim.Lee@Buyer.example"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _suppressed(db: Database, tenant_id: uuid.UUID) -> list[tuple[str, str, str | None]]:
    with db.unit_of_work(tenant_id) as uow:
        rows = uow.session.execute(
            sa.select(
                SuppressedAddress.email, SuppressedAddress.reason, SuppressedAddress.source
            ).where(SuppressedAddress.tenant_id == tenant_id)
        ).all()
        return [tuple(r) for r in rows]


def _contact_status(db: Database, tenant_id: uuid.UUID, contact_id: uuid.UUID) -> str:
    with db.unit_of_work(tenant_id) as uow:
        contact = uow.session.get(Contact, contact_id)
        assert contact is not None
        return contact.outreach_status


def _send_status(db: Database, tenant_id: uuid.UUID, send_id: uuid.UUID) -> str:
    with db.unit_of_work(tenant_id) as uow:
        send = uow.session.get(MessageSend, send_id)
        assert send is not None
        return send.status


def _path(settings: Settings, tenant_id: uuid.UUID, email: str) -> str:
    return f"/v1/unsubscribe/{sign_unsubscribe(settings, tenant_id, email)}"


def test_opening_the_link_only_shows_a_confirm_button(
    api: httpx.Client, tenant: CreatedKey, db: Database, settings: Settings
) -> None:
    contact_id = add_contact(db, tenant.tenant_id, ADDRESS)
    send = approved_send(db, tenant.tenant_id, contact_id)
    path = _path(settings, tenant.tenant_id, ADDRESS)

    page = api.get(path)

    assert unsubscribe_url(settings, tenant.tenant_id, ADDRESS).endswith(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in page.text
    assert "kim.lee@buyer.example" in page.text
    assert _suppressed(db, tenant.tenant_id) == []
    assert _contact_status(db, tenant.tenant_id, contact_id) == "new"
    assert _send_status(db, tenant.tenant_id, send.id) == "queued"


def test_a_forged_or_altered_token_is_refused_and_changes_nothing(
    api: httpx.Client, tenant: CreatedKey, db: Database, settings: Settings
) -> None:
    contact_id = add_contact(db, tenant.tenant_id, ADDRESS)
    genuine = sign_unsubscribe(settings, tenant.tenant_id, "someone.else@buyer.example")
    body, _, mac = genuine.partition(".")
    other_body = sign_unsubscribe(settings, tenant.tenant_id, ADDRESS).partition(".")[0]
    forged = [
        f"{other_body}.{mac}",
        f"{body}.{mac[:-2]}AA",
        "not-a-token",
        f"{body}.",
    ]

    answers = [api.post(f"/v1/unsubscribe/{token}", data=ONE_CLICK) for token in forged]
    page = api.get(f"/v1/unsubscribe/{forged[0]}")

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert "not valid" in answers[0].json()["detail"]
    assert page.status_code == 404
    assert _suppressed(db, tenant.tenant_id) == []
    assert _contact_status(db, tenant.tenant_id, contact_id) == "new"


def test_one_click_unsubscribes_for_good(
    api: httpx.Client,
    tenant: CreatedKey,
    db: Database,
    owner_db: Database,
    settings: Settings,
) -> None:
    contact_id = add_contact(db, tenant.tenant_id, ADDRESS)
    queued = approved_send(db, tenant.tenant_id, contact_id)
    ready = approved_send(db, tenant.tenant_id, contact_id, channel="linkedin")
    path = _path(settings, tenant.tenant_id, ADDRESS)

    first = api.post(path, data=ONE_CLICK)
    repeated = api.post(path, content=b"")
    # Later: the same person under another contact record, the address in other case.
    twin = add_contact(db, tenant.tenant_id, ADDRESS.upper())
    later = approved_send(db, tenant.tenant_id, twin)

    assert first.status_code == 200, first.text
    assert "unsubscribed" in first.text
    assert repeated.status_code == 200
    assert _suppressed(db, tenant.tenant_id) == [
        ("kim.lee@buyer.example", "unsubscribed", "list-unsubscribe")
    ]
    assert _contact_status(db, tenant.tenant_id, contact_id) == "unsubscribed"
    assert _send_status(db, tenant.tenant_id, queued.id) == "suppressed"
    assert _send_status(db, tenant.tenant_id, ready.id) == "suppressed"
    assert events_about(owner_db, queued.id) == ["message.queued", "message.suppressed"]
    assert later.status == "suppressed"
    assert events_about(owner_db, later.id) == ["message.suppressed"]
    with owner_db.unit_of_work() as uow:
        dispatched = uow.session.scalars(
            sa.select(OutboxMessage.dedup_key).where(
                OutboxMessage.tenant_id == tenant.tenant_id,
                OutboxMessage.destination == SENDER_QUEUE,
            )
        ).all()
        contact_events = uow.session.scalars(
            sa.select(OutboxMessage.payload).where(
                OutboxMessage.tenant_id == tenant.tenant_id,
                OutboxMessage.destination == "contact.suppressed",
            )
        ).all()
    assert dispatched == [f"send:{queued.draft_id}"]
    assert len(contact_events) == 1
    assert contact_events[0]["payload"]["email"] == "kim.lee@buyer.example"
    assert contact_events[0]["payload"]["contact_ids"] == [str(contact_id)]


def test_a_token_reaches_only_its_own_tenant(
    api: httpx.Client, tenant: CreatedKey, db: Database, settings: Settings
) -> None:
    contact_id = add_contact(db, tenant.tenant_id, ADDRESS)
    other = create_tenant(db, "Other Sender")

    answer = api.post(_path(settings, other, ADDRESS), data=ONE_CLICK)

    assert answer.status_code == 200
    assert _suppressed(db, other) == [("kim.lee@buyer.example", "unsubscribed", "list-unsubscribe")]
    assert _suppressed(db, tenant.tenant_id) == []
    assert _contact_status(db, tenant.tenant_id, contact_id) == "new"


def test_a_link_of_a_suspended_or_unknown_tenant_is_refused(
    api: httpx.Client, db: Database, owner_db: Database, settings: Settings
) -> None:
    suspended = create_tenant(db, "Suspended Sender")
    with owner_db.unit_of_work() as uow:
        uow.session.execute(
            sa.update(Tenant).where(Tenant.id == suspended).values(status="suspended")
        )
        uow.commit()

    refused = api.post(_path(settings, suspended, ADDRESS), data=ONE_CLICK)
    unknown = api.post(_path(settings, uuid.uuid4(), ADDRESS), data=ONE_CLICK)

    assert refused.status_code == 404
    assert unknown.status_code == 404
    assert _suppressed(db, suspended) == []


def test_a_bounce_marks_the_contact_bounced_and_is_recorded_once(
    tenant: CreatedKey, db: Database
) -> None:
    contact_id = add_contact(db, tenant.tenant_id, ADDRESS)

    with db.unit_of_work(tenant.tenant_id) as uow:
        first = suppress_address(uow, tenant.tenant_id, ADDRESS, SuppressionReason.BOUNCED, "smtp")
        uow.commit()
    with db.unit_of_work(tenant.tenant_id) as uow:
        second = suppress_address(
            uow, tenant.tenant_id, ADDRESS.lower(), SuppressionReason.UNSUBSCRIBED, "reply"
        )
        uow.commit()

    assert (first, second) == (True, False)
    assert _suppressed(db, tenant.tenant_id) == [("kim.lee@buyer.example", "bounced", "smtp")]
    assert _contact_status(db, tenant.tenant_id, contact_id) == "bounced"
