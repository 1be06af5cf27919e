"""Fixtures for integration tests: the API served over real HTTP against the run's database."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from services.api.app import create_app
from services.demo.seed import SeededTarget, seed_sample_crm
from shared.db.database import Database
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support.servers import serve_in_thread


@pytest.fixture(scope="session")
def api_url(settings: Settings, db: Database) -> Iterator[str]:
    with serve_in_thread(create_app(settings, db=db)) as url:
        yield url


@pytest.fixture
def api(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as client:
        yield client


@pytest.fixture
def targets(db: Database, tenant: CreatedKey) -> list[SeededTarget]:
    return seed_sample_crm(db, tenant.tenant_id, contacts=6)
