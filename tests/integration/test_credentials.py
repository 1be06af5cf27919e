"""Provider credentials: ciphertext at rest, masked in the API, the tenant's key for the tenant."""

from __future__ import annotations

import subprocess

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from services.api.app import create_app
from services.sandbox.config import SandboxConfig
from services.sandbox.server import start_sandbox_in_thread
from shared.credentials import (
    CredentialCipher,
    UnknownEncryptionKey,
    credential_cipher,
    resolve_api_key,
    rotate_credentials,
)
from shared.db.database import Database
from shared.db.models import Provider, ProviderCredential
from shared.errors import PermanentError
from shared.roles import Role
from shared.settings import Settings
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.support.api import auth
from tests.support.processes import BIN, settings_environment
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.integration

CANARY = "sk-canary-7f3e9a1b2c4d5e6f-never-log-me"


def _put(api: httpx.Client, token: str, provider: str, key: str) -> httpx.Response:
    return api.put(f"/v1/credentials/{provider}", json={"api_key": key}, headers=auth(token))


def test_a_stored_key_is_ciphertext_at_rest_and_masked_in_the_api(
    api: httpx.Client, tenant: CreatedKey, owner_db: Database
) -> None:
    stored = _put(api, tenant.token, "openai", CANARY)
    listed = api.get("/v1/credentials", headers=auth(tenant.token))

    assert stored.status_code == 200, stored.text
    assert CANARY not in stored.text
    assert CANARY not in listed.text
    assert listed.json()[0]["masked_key"].endswith(CANARY[-4:])
    with owner_db.unit_of_work() as uow:
        row = uow.session.scalars(
            sa.select(ProviderCredential).where(ProviderCredential.tenant_id == tenant.tenant_id)
        ).one()
    assert CANARY.encode() not in row.encrypted_key
    assert CANARY[:12].encode() not in row.encrypted_key
    assert len(row.encrypted_key) >= len(CANARY) + 28  # nonce + tag


def test_the_tenants_key_is_used_for_the_tenant_and_the_platform_key_for_others(
    api: httpx.Client, tenant: CreatedKey, db: Database, settings: Settings
) -> None:
    other = create_tenant(db, "No Keys Inc")
    assert _put(api, tenant.token, "anthropic", CANARY).status_code == 200
    cipher = credential_cipher(settings)

    with db.unit_of_work(tenant.tenant_id) as uow:
        own = resolve_api_key(uow, cipher, settings, tenant.tenant_id, Provider.ANTHROPIC)
    with db.unit_of_work(other) as uow:
        fallback = resolve_api_key(uow, cipher, settings, other, Provider.ANTHROPIC)

    assert own.api_key == CANARY
    assert own.source == "tenant"
    assert own.credential_key.startswith("credential:")
    assert CANARY not in repr(own)
    assert fallback.api_key == settings.anthropic_api_key.get_secret_value()
    assert fallback.credential_key == "platform"


def test_replacing_listing_and_deleting(api: httpx.Client, tenant: CreatedKey) -> None:
    assert _put(api, tenant.token, "gemini", "gm-first-key-0001").status_code == 200
    assert _put(api, tenant.token, "gemini", "gm-second-key-0002").status_code == 200
    listed = api.get("/v1/credentials", headers=auth(tenant.token)).json()
    deleted = api.delete("/v1/credentials/gemini", headers=auth(tenant.token))
    again = api.delete("/v1/credentials/gemini", headers=auth(tenant.token))

    assert [c["provider"] for c in listed] == ["gemini"]
    assert listed[0]["masked_key"].endswith("0002")
    assert deleted.status_code == 204
    assert again.status_code == 404


def test_bad_requests_and_permissions(api: httpx.Client, tenant: CreatedKey, db: Database) -> None:
    viewer = create_api_key(db, tenant.tenant_id, name="viewer", role=Role.VIEWER)

    assert _put(api, tenant.token, "myspace", "some-long-key").status_code == 422
    assert _put(api, tenant.token, "openai", "short").status_code == 422
    assert _put(api, viewer.token, "openai", "a-valid-length-key").status_code == 403
    assert api.get("/v1/credentials", headers=auth(viewer.token)).status_code == 200


def test_rotation_re_encrypts_under_the_new_key(
    api: httpx.Client, tenant: CreatedKey, db: Database, settings: Settings
) -> None:
    assert _put(api, tenant.token, "apollo", CANARY).status_code == 200
    old_secret = settings.encryption_key.get_secret_value()
    rotated = CredentialCipher("a-brand-new-encryption-key-0123456789abcdef", [old_secret])
    only_new = CredentialCipher("a-brand-new-encryption-key-0123456789abcdef")

    with db.unit_of_work(tenant.tenant_id) as uow, pytest.raises(UnknownEncryptionKey):
        resolve_api_key(uow, only_new, settings, tenant.tenant_id, Provider.APOLLO)
    with db.unit_of_work(tenant.tenant_id) as uow:
        unknown_to_a_third_key = rotate_credentials(uow, CredentialCipher("x" * 40))
        assert rotate_credentials(uow, rotated).rotated == 1
        uow.commit()
    with db.unit_of_work(tenant.tenant_id) as uow:
        resolved = resolve_api_key(uow, only_new, settings, tenant.tenant_id, Provider.APOLLO)
        assert resolved.api_key == CANARY
        assert rotate_credentials(uow, rotated).rotated == 0
        # Back under the run's key, so later tests (and the rotate command) can read it.
        back = CredentialCipher(old_secret, ["a-brand-new-encryption-key-0123456789abcdef"])
        assert rotate_credentials(uow, back).rotated == 1
        uow.commit()
    assert unknown_to_a_third_key.rotated == 0
    assert len(unknown_to_a_third_key.unreadable) == 1


def test_ciphertext_copied_to_another_tenant_does_not_decrypt(settings: Settings) -> None:
    cipher = credential_cipher(settings)
    blob, key_id = cipher.encrypt(CANARY, context="tenant-a:openai:default")

    assert cipher.decrypt(blob, key_id, context="tenant-a:openai:default") == CANARY
    with pytest.raises(PermanentError, match="failed authentication"):
        cipher.decrypt(blob, key_id, context="tenant-b:openai:default")


def test_the_rotate_command_re_encrypts_every_tenants_credentials(
    api: httpx.Client, tenant: CreatedKey, db: Database, settings: Settings
) -> None:
    second = create_api_key(db, create_tenant(db, "Second Tenant"))
    for key in (tenant, second):
        assert _put(api, key.token, "openai", CANARY).status_code == 200
    new_secret = "rotated-encryption-key-for-the-cli-0123456789"
    rotated_settings = settings.model_copy(
        update={
            "encryption_key": SecretStr(new_secret),
            "encryption_previous_keys": [settings.encryption_key],
        }
    )

    result = subprocess.run(
        [str(BIN / "agentfleet"), "rotate-credentials"],
        env=settings_environment(rotated_settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert CANARY not in result.stdout + result.stderr
    only_new = CredentialCipher(new_secret)
    for key in (tenant, second):
        with db.unit_of_work(key.tenant_id) as uow:
            resolved = resolve_api_key(uow, only_new, settings, key.tenant_id, Provider.OPENAI)
        assert resolved.api_key == CANARY


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "apollo"])
def test_verify_tries_the_stored_key_against_the_provider(
    provider: str, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    with start_sandbox_in_thread(SandboxConfig()) as sandbox:
        root = sandbox.base_url.removesuffix("/v1")
        pointed = settings.model_copy(
            update={
                "openai_base_url": f"{root}/v1",
                "anthropic_base_url": root,
                "gemini_base_url": f"{root}/v1beta",
                "apollo_base_url": f"{root}/api/v1",
            }
        )
        with serve_in_thread(create_app(pointed, db=db)) as url, httpx.Client(base_url=url) as api:
            missing = api.post(f"/v1/credentials/{provider}/verify", headers=auth(tenant.token))
            assert _put(api, tenant.token, provider, "sandbox-good-key-123").status_code == 200
            good = api.post(f"/v1/credentials/{provider}/verify", headers=auth(tenant.token))
            assert _put(api, tenant.token, provider, f"invalid-{CANARY}").status_code == 200
            bad = api.post(f"/v1/credentials/{provider}/verify", headers=auth(tenant.token))

    assert missing.status_code == 404
    assert good.status_code == 200, good.text
    assert good.json()["valid"] is True
    assert good.json()["verified_at"] is not None
    assert bad.status_code == 200, bad.text
    assert bad.json()["valid"] is False
    assert provider in bad.json()["reason"]
    assert CANARY not in bad.text


def test_a_credential_can_carry_its_own_rate_limits(
    api: httpx.Client, tenant: CreatedKey, db: Database, settings: Settings
) -> None:
    body = {"api_key": "sk-own-limits-key-0001", "limits": {"requests_per_minute": 60}}
    stored = api.put("/v1/credentials/openai", json=body, headers=auth(tenant.token))
    wrong = api.put(
        "/v1/credentials/openai",
        json={"api_key": "sk-own-limits-key-0001", "limits": {"requests_per_day": 10}},
        headers=auth(tenant.token),
    )
    negative = api.put(
        "/v1/credentials/apollo",
        json={"api_key": "apollo-key-0001", "limits": {"requests_per_day": 0}},
        headers=auth(tenant.token),
    )

    assert stored.status_code == 200, stored.text
    assert stored.json()["limits"] == {"requests_per_minute": 60}
    assert wrong.status_code == 422
    assert "requests_per_day" in wrong.json()["detail"]
    assert negative.status_code == 422
    with db.unit_of_work(tenant.tenant_id) as uow:
        resolved = resolve_api_key(
            uow, credential_cipher(settings), settings, tenant.tenant_id, Provider.OPENAI
        )
    assert resolved.limits == {"requests_per_minute": 60}
