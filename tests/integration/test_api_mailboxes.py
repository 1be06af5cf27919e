"""Mailbox endpoints: the SMTP password is ciphertext at rest and never shown, one default at a
time, today's sends counted against the cap, and each tenant sees its own mailboxes only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.credentials import credential_cipher
from shared.db.database import Database
from shared.db.models import Mailbox, MessageSend
from shared.roles import Role
from shared.sending.mailboxes import decrypt_mailbox_password
from shared.settings import Settings
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.integration.test_api_sends import add_contact, approved_send
from tests.support.api import auth

pytestmark = pytest.mark.integration

PASSWORD = "smtp-canary-4b7d1e9f-never-show-me"


def _mailbox(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "from_address": f"{name.lower()}@seller.example",
        "smtp_host": "smtp.seller.example",
        **extra,
    }


def _create(api: httpx.Client, token: str, body: dict[str, Any]) -> httpx.Response:
    return api.post("/v1/mailboxes", json=body, headers=auth(token))


def _defaults(api: httpx.Client, token: str) -> dict[str, bool]:
    listed = api.get("/v1/mailboxes", headers=auth(token)).json()
    return {m["name"]: m["is_default"] for m in listed}


def test_a_mailbox_keeps_its_password_encrypted_and_never_shows_it(
    api: httpx.Client, tenant: CreatedKey, owner_db: Database, settings: Settings
) -> None:
    created = _create(
        api,
        tenant.token,
        _mailbox(
            "Sales",
            from_name="Sales Team",
            reply_to="replies@seller.example",
            smtp_username="sales@seller.example",
            smtp_password=PASSWORD,
            smtp_security="tls",
            smtp_port=465,
        ),
    )
    listed = api.get("/v1/mailboxes", headers=auth(tenant.token))

    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/v1/mailboxes/{body['id']}"
    assert body["has_password"] is True
    assert "smtp_password" not in body
    assert PASSWORD not in created.text
    assert PASSWORD not in listed.text
    assert body["smtp_security"] == "tls"
    assert body["daily_cap"] == settings.mailbox_daily_cap
    assert (body["sent_today"], body["remaining_today"]) == (0, settings.mailbox_daily_cap)
    assert [m["id"] for m in listed.json()] == [body["id"]]
    with owner_db.unit_of_work() as uow:
        row = uow.session.get(Mailbox, uuid.UUID(body["id"]))
        assert row is not None
        assert row.encrypted_password is not None
        assert PASSWORD.encode() not in row.encrypted_password
        assert row.encryption_key_id is not None


def test_the_password_is_replaced_or_removed_and_the_mailbox_deleted(
    api: httpx.Client, tenant: CreatedKey, owner_db: Database
) -> None:
    mailbox_id = _create(api, tenant.token, _mailbox("Ops", smtp_password=PASSWORD)).json()["id"]
    headers = auth(tenant.token)
    with owner_db.unit_of_work() as uow:
        first = uow.session.get(Mailbox, uuid.UUID(mailbox_id))
        assert first is not None
        first_blob = first.encrypted_password

    replaced = api.patch(
        f"/v1/mailboxes/{mailbox_id}", json={"smtp_password": "another-secret"}, headers=headers
    )
    with owner_db.unit_of_work() as uow:
        second = uow.session.get(Mailbox, uuid.UUID(mailbox_id))
        assert second is not None
        second_blob = second.encrypted_password
    removed = api.patch(
        f"/v1/mailboxes/{mailbox_id}",
        json={"smtp_password": None, "daily_cap": 75},
        headers=headers,
    )
    deleted = api.delete(f"/v1/mailboxes/{mailbox_id}", headers=headers)

    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["has_password"] is True
    assert second_blob is not None
    assert second_blob != first_blob
    assert removed.status_code == 200
    assert removed.json()["has_password"] is False
    assert removed.json()["daily_cap"] == 75
    assert deleted.status_code == 204
    assert api.get(f"/v1/mailboxes/{mailbox_id}", headers=headers).status_code == 404
    assert api.delete(f"/v1/mailboxes/{mailbox_id}", headers=headers).status_code == 404


def test_a_renamed_mailbox_keeps_a_password_that_still_opens(
    api: httpx.Client, tenant: CreatedKey, owner_db: Database, settings: Settings
) -> None:
    mailbox_id = _create(api, tenant.token, _mailbox("Old", smtp_password=PASSWORD)).json()["id"]

    renamed = api.patch(
        f"/v1/mailboxes/{mailbox_id}", json={"name": "New"}, headers=auth(tenant.token)
    )

    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "New"
    assert renamed.json()["has_password"] is True
    with owner_db.unit_of_work() as uow:
        row = uow.session.get(Mailbox, uuid.UUID(mailbox_id))
        assert row is not None
        assert decrypt_mailbox_password(credential_cipher(settings), row) == PASSWORD


def test_one_default_at_a_time(api: httpx.Client, tenant: CreatedKey) -> None:
    first = _create(api, tenant.token, _mailbox("First", is_default=True)).json()
    _create(api, tenant.token, _mailbox("Second", is_default=True))
    after_second = _defaults(api, tenant.token)
    _create(api, tenant.token, _mailbox("Third"))
    after_third = _defaults(api, tenant.token)
    switched = api.patch(
        f"/v1/mailboxes/{first['id']}", json={"is_default": True}, headers=auth(tenant.token)
    )

    assert after_second == {"First": False, "Second": True}
    assert after_third == {"First": False, "Second": True, "Third": False}
    assert switched.status_code == 200
    assert _defaults(api, tenant.token) == {"First": True, "Second": False, "Third": False}


@pytest.mark.parametrize(
    "change",
    [
        {"from_address": "not-an-address"},
        {"from_address": "someone@seller"},
        {"reply_to": "a b@seller.example"},
        {"from_name": "Sales\r\nBcc: victim@example.com"},
        {"smtp_host": "smtp host.example"},
        {"smtp_port": 0},
        {"smtp_security": "ssl"},
        {"daily_cap": 0},
        {"daily_cap": 10001},
        {"smtp_password": ""},
        {"unknown_field": 1},
    ],
)
def test_invalid_mailboxes_are_refused(
    api: httpx.Client, tenant: CreatedKey, change: dict[str, Any]
) -> None:
    answer = _create(api, tenant.token, _mailbox("Broken", **change))

    assert answer.status_code == 422, answer.text
    assert api.get("/v1/mailboxes", headers=auth(tenant.token)).json() == []


def test_taken_names_and_cleared_required_fields_are_refused(
    api: httpx.Client, tenant: CreatedKey
) -> None:
    assert _create(api, tenant.token, _mailbox("Sales")).status_code == 201
    other = _create(api, tenant.token, _mailbox("Support")).json()
    headers = auth(tenant.token)

    duplicate = _create(api, tenant.token, _mailbox("Sales"))
    renamed = api.patch(f"/v1/mailboxes/{other['id']}", json={"name": "Sales"}, headers=headers)
    cleared = api.patch(f"/v1/mailboxes/{other['id']}", json={"smtp_host": None}, headers=headers)
    empty = api.patch(f"/v1/mailboxes/{other['id']}", json={}, headers=headers)

    assert duplicate.status_code == 409
    assert "Sales" in duplicate.json()["detail"]
    assert renamed.status_code == 409
    assert cleared.status_code == 422
    assert empty.status_code == 422
    names = sorted(m["name"] for m in api.get("/v1/mailboxes", headers=headers).json())
    assert names == ["Sales", "Support"]


def test_sends_claimed_today_count_against_the_cap(
    api: httpx.Client, tenant: CreatedKey, db: Database
) -> None:
    mailbox = _create(api, tenant.token, _mailbox("Capped", daily_cap=5, is_default=True)).json()
    mailbox_id = uuid.UUID(mailbox["id"])
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    claims = [
        ("sent", now),
        ("outcome_unknown", now),
        ("sending", now),
        ("sent", midnight - timedelta(seconds=1)),
        ("queued", None),
        ("failed", now),
    ]
    for index, (status, claimed_at) in enumerate(claims):
        contact = add_contact(db, tenant.tenant_id, f"buyer{index}@buyer.example")
        send = approved_send(db, tenant.tenant_id, contact)
        assert send.mailbox_id == mailbox_id
        with db.unit_of_work(tenant.tenant_id) as uow:
            uow.session.execute(
                sa.update(MessageSend)
                .where(MessageSend.id == send.id)
                .values(status=status, claimed_at=claimed_at)
            )
            uow.commit()

    shown = api.get(f"/v1/mailboxes/{mailbox_id}", headers=auth(tenant.token)).json()

    assert (shown["sent_today"], shown["remaining_today"]) == (3, 2)


def test_other_tenants_and_read_only_roles_cannot_touch_a_mailbox(
    api: httpx.Client, tenant: CreatedKey, db: Database
) -> None:
    mailbox_id = _create(api, tenant.token, _mailbox("Private")).json()["id"]
    stranger = create_api_key(db, create_tenant(db, "Stranger Inc"))
    viewer = create_api_key(db, tenant.tenant_id, name="viewer", role=Role.VIEWER)
    url = f"/v1/mailboxes/{mailbox_id}"

    foreign_list = api.get("/v1/mailboxes", headers=auth(stranger.token))
    foreign_read = api.get(url, headers=auth(stranger.token))
    foreign_patch = api.patch(url, json={"name": "Mine"}, headers=auth(stranger.token))
    foreign_delete = api.delete(url, headers=auth(stranger.token))
    viewer_list = api.get("/v1/mailboxes", headers=auth(viewer.token))
    viewer_create = _create(api, viewer.token, _mailbox("Viewer's"))
    no_key = api.get("/v1/mailboxes")

    assert foreign_list.json() == []
    assert (foreign_read.status_code, foreign_patch.status_code) == (404, 404)
    assert foreign_delete.status_code == 404
    assert viewer_list.status_code == 200
    assert [m["name"] for m in viewer_list.json()] == ["Private"]
    assert viewer_create.status_code == 403
    assert no_key.status_code == 401
    assert api.get(url, headers=auth(tenant.token)).json()["name"] == "Private"
