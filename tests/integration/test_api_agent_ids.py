"""``POST /v1/agents`` with a client-chosen ``id``: the agent a service already named in tasks."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa

from shared.db.database import Database
from shared.db.models import Agent
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.support.api import auth

pytestmark = pytest.mark.integration


def _create(api: httpx.Client, token: str, **body: object) -> httpx.Response:
    return api.post(
        "/v1/agents",
        json={"agent_type": "email_drafter", "name": "Writer", **body},
        headers=auth(token),
    )


def test_an_agent_is_created_under_the_id_the_client_chose(
    api: httpx.Client, tenant: CreatedKey
) -> None:
    chosen = uuid.uuid4()

    created = _create(api, tenant.token, id=str(chosen))

    assert created.status_code == 201, created.text
    assert created.json()["id"] == str(chosen)
    assert created.json()["agent_type"] == "outreach"
    assert created.headers["Location"] == f"/v1/agents/{chosen}"
    fetched = api.get(f"/v1/agents/{chosen}", headers=auth(tenant.token))
    assert fetched.json()["name"] == "Writer"


def test_a_taken_id_is_a_conflict_in_the_same_tenant_and_in_another(
    api: httpx.Client, tenant: CreatedKey, db: Database, owner_db: Database
) -> None:
    chosen = uuid.uuid4()
    assert _create(api, tenant.token, id=str(chosen)).status_code == 201
    other = create_api_key(db, create_tenant(db, "Other Tenant"))

    again = _create(api, tenant.token, id=str(chosen), name="Second writer")
    elsewhere = _create(api, other.token, id=str(chosen))

    assert again.status_code == 409
    assert again.json()["detail"] == f"agent {chosen} already exists (named 'Writer')"
    assert elsewhere.status_code == 409
    assert elsewhere.json()["detail"] == "this agent id is already in use; choose another"
    assert "Writer" not in elsewhere.text
    with owner_db.unit_of_work() as uow:
        owners = uow.session.scalars(sa.select(Agent.tenant_id).where(Agent.id == chosen)).all()
    assert owners == [tenant.tenant_id]


def test_an_id_that_is_not_a_uuid_is_refused(api: httpx.Client, tenant: CreatedKey) -> None:
    refused = _create(api, tenant.token, id="writer-1")

    assert refused.status_code == 422
    assert "id" in refused.json()["detail"]
