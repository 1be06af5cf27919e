"""Apollo against the full sandbox over HTTP: its faults are handled like the LLM providers'."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from services.sandbox.config import SandboxConfig
from services.sandbox.server import start_sandbox_in_thread
from shared.apollo import (
    ApolloClient,
    ApolloRejected,
    ApolloResponseInvalid,
    OrganizationSearch,
)

pytestmark = pytest.mark.integration

API_KEY = "apollo-sandbox-key"


@pytest.fixture
def sandbox_root() -> Iterator[str]:
    with start_sandbox_in_thread(SandboxConfig(hang_s=5)) as sandbox:
        yield sandbox.base_url.removesuffix("/v1")


def _client(root: str, **overrides: float) -> ApolloClient:
    options = {
        "connect_timeout_s": 1.0,
        "read_timeout_s": 0.5,
        "total_timeout_s": 10.0,
        "max_attempts": 3,
        **overrides,
    }
    return ApolloClient(base_url=f"{root}/api/v1", api_key=API_KEY, **options)


def _queue(root: str, *faults: str) -> None:
    changes = {"next_faults": list(faults)}
    httpx.post(f"{root}/_sandbox/scenario", json=changes, timeout=5).raise_for_status()


def _statuses(root: str) -> list[int]:
    requests = httpx.get(f"{root}/_sandbox/requests", timeout=5).json()["requests"]
    return [r["status"] for r in requests if r["provider"] == "apollo"]


def test_a_timeout_is_retried_then_succeeds(sandbox_root: str) -> None:
    _queue(sandbox_root, "timeout")
    with _client(sandbox_root) as client:
        page = client.search_organizations(OrganizationSearch(per_page=5))
    assert len(page.organizations) == 5
    assert _statuses(sandbox_root)[-1] == 200
    assert len(_statuses(sandbox_root)) == 2


def test_a_server_error_is_retried_then_succeeds(sandbox_root: str) -> None:
    _queue(sandbox_root, "error")
    with _client(sandbox_root) as client:
        client.search_organizations(OrganizationSearch(per_page=2))
    assert _statuses(sandbox_root) == [500, 200]


def test_a_malformed_body_is_a_clear_typed_error(sandbox_root: str) -> None:
    _queue(sandbox_root, "malformed")
    with _client(sandbox_root) as client, pytest.raises(ApolloResponseInvalid, match="apollo"):
        client.search_organizations(OrganizationSearch(per_page=2))
    assert _statuses(sandbox_root) == [200], "not retried: the page may have cost a credit"


def test_a_wrong_key_fails_at_once_with_apollos_reason(sandbox_root: str) -> None:
    client = ApolloClient(
        base_url=f"{sandbox_root}/api/v1",
        api_key="invalid-key-123",
        connect_timeout_s=1.0,
        read_timeout_s=2.0,
        total_timeout_s=10.0,
        max_attempts=3,
    )
    started = time.monotonic()
    with client, pytest.raises(ApolloRejected, match="401") as rejected:
        client.search_organizations(OrganizationSearch(per_page=2))
    assert "invalid-key-123" not in str(rejected.value)
    assert time.monotonic() - started < 2
    assert _statuses(sandbox_root) == [401]
