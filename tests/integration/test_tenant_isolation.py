"""Tenant isolation: the API answers 404 across tenants, and row-level security holds even
for a hand-written query in the application's database role."""

from __future__ import annotations

import uuid

import httpx
import psycopg
import pytest

from services.demo.seed import seed_sample_crm
from shared.db.database import Database
from shared.db.models import TENANT_TABLES
from shared.settings import Settings
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.support.api import auth, outreach_body, post_task
from tests.support.approvals import make_pending_item
from tests.support.infra import PG_HOST, PG_PORT

pytestmark = pytest.mark.integration

TENANT_TABLES_WITH_DATA = ("tasks", "contacts", "accounts", "opportunities", "drafts", "outbox")


@pytest.fixture
def other_tenant(db: Database) -> CreatedKey:
    return create_api_key(db, create_tenant(db, "Other Tenant"))


def test_a_key_of_tenant_a_cannot_read_or_decide_for_tenant_b(
    api: httpx.Client, tenant: CreatedKey, other_tenant: CreatedKey, db: Database
) -> None:
    b_targets = seed_sample_crm(db, other_tenant.tenant_id, contacts=2)
    b_task = post_task(api, other_tenant.token, outreach_body(b_targets[0].contact_id)).json()
    b_item = make_pending_item(db, other_tenant.tenant_id, b_targets[1])

    read = api.get(f"/v1/tasks/{b_task['id']}", headers=auth(tenant.token))
    approve = api.post(f"/v1/approvals/{b_item}/approve", headers=auth(tenant.token))
    reject = api.post(
        f"/v1/approvals/{b_item}/reject", json={"reason": "x"}, headers=auth(tenant.token)
    )
    listed = api.get("/v1/approvals", headers=auth(tenant.token)).json()
    submit_with_b_contact = post_task(api, tenant.token, outreach_body(b_targets[0].contact_id))

    assert read.status_code == 404
    assert approve.status_code == 404
    assert reject.status_code == 404
    assert all(item["id"] != str(b_item) for item in listed["items"])
    assert submit_with_b_contact.status_code == 422
    assert api.get(f"/v1/tasks/{b_task['id']}", headers=auth(other_tenant.token)).status_code == 200


def _app_role_connection(settings: Settings) -> psycopg.Connection[tuple[object, ...]]:
    database = settings.database_url.rsplit("/", 1)[1]
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user="agentfleet_app", dbname=database)


def test_row_level_security_holds_for_hand_written_queries(
    settings: Settings,
    tenant: CreatedKey,
    other_tenant: CreatedKey,
    db: Database,
    api: httpx.Client,
) -> None:
    for key in (tenant, other_tenant):
        targets = seed_sample_crm(db, key.tenant_id, contacts=1)
        assert post_task(api, key.token, outreach_body(targets[0].contact_id)).status_code == 202
        make_pending_item(db, key.tenant_id, targets[0])

    with _app_role_connection(settings) as conn:
        role = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert role == (False, False)
        for table in TENANT_TABLES_WITH_DATA:
            unscoped = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert unscoped == (0,), f"{table} visible without a tenant"
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant.tenant_id),))
        for table in TENANT_TABLES_WITH_DATA:
            foreign = conn.execute(
                f"SELECT count(*) FROM {table} WHERE tenant_id = %s", (str(other_tenant.tenant_id),)
            ).fetchone()
            own = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert foreign == (0,), f"{table} leaks another tenant's rows"
            assert own is not None
            assert own[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO suppression_list (id, tenant_id, email, reason)"
                " VALUES (%s, %s, %s, %s)",
                (str(uuid.uuid4()), str(other_tenant.tenant_id), "x@example.com", "manual"),
            )


def test_application_role_is_not_owner_and_tables_force_rls(settings: Settings) -> None:
    with _app_role_connection(settings) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version'"
        ).fetchall()
    assert len(rows) == len(TENANT_TABLES) + 1  # and tenants itself
    for name, enabled, forced, owner in rows:
        assert enabled, name
        assert forced, name
        assert owner != "agentfleet_app", name
