"""Fixtures shared by every test layer.

Unit tests use none of the session resources below. Integration and end-to-end tests get a
database and a RabbitMQ vhost of their own for this run, created on first use and removed at
the end, so concurrent runs never see each other's data; every test makes its own tenant.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.db.database import Database, open_database
from shared.db.migrate import upgrade_database
from shared.settings import Settings
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.support import infra

TEST_ENCRYPTION_KEY = "test-encryption-key-0123456789abcdef0123"


@pytest.fixture(scope="session")
def run_resources() -> Iterator[infra.RunResources]:
    infra.require_services()
    resources = infra.new_run_resources()
    infra.create_database(resources.database)
    infra.create_vhost(resources.vhost)
    try:
        upgrade_database(infra.owner_url(resources.database))
        yield resources
    finally:
        infra.drop_database(resources.database)
        infra.delete_vhost(resources.vhost)


@pytest.fixture(scope="session")
def settings(run_resources: infra.RunResources) -> Settings:
    return make_settings(run_resources)


def make_settings(resources: infra.RunResources, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": infra.role_url(resources.database, "agentfleet_app"),
        "relay_database_url": infra.role_url(resources.database, "agentfleet_relay"),
        "migration_database_url": infra.owner_url(resources.database),
        "broker_url": infra.broker_url(resources.vhost),
        "redis_url": "redis://127.0.0.1:6379/0",
        "redis_key_prefix": f"agentfleet-test-{resources.run_id}",
        "encryption_key": TEST_ENCRYPTION_KEY,
        "log_json": False,
        # Exporters stay off unless a test asks for one on a port of its own.
        "metrics_port": 0,
        "metrics_host": "127.0.0.1",
        "metrics_dir": str(resources.metrics_dir),
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def db(settings: Settings) -> Iterator[Database]:
    """The application role's database handle (row-level security applies)."""
    database = open_database(settings.database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def owner_db(settings: Settings) -> Iterator[Database]:
    """The schema owner's handle, for assertions across tenants (bypasses row-level security)."""
    database = open_database(settings.migration_url())
    yield database
    database.dispose()


@pytest.fixture
def tenant(db: Database) -> CreatedKey:
    """A fresh tenant with an admin API key."""
    tenant_id = create_tenant(db, "Test Tenant")
    return create_api_key(db, tenant_id)
