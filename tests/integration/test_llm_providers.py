"""Each real LLM client against the sandbox over HTTP, in its own provider's wire format:
success, retry hints, server errors, timeouts, refusals, bad answers and the gate hooks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.sandbox import SandboxConfig, SandboxHandle, start_sandbox_in_thread
from shared.errors import ProviderRejected, RateLimited
from shared.llm import (
    LLM_PROVIDERS,
    AnthropicMessagesClient,
    ChatCompletionsClient,
    ChatMessage,
    GeminiGenerateContentClient,
    HttpLlmClient,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from shared.ratelimit import CallOutcome, CallPermit
from workers.outreach.prompt import DRAFT_SCHEMA

pytestmark = pytest.mark.integration

CLIENTS: dict[str, type[HttpLlmClient]] = {
    "openai": ChatCompletionsClient,
    "anthropic": AnthropicMessagesClient,
    "gemini": GeminiGenerateContentClient,
}
MODELS = {"openai": "gpt-4.1-mini", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}
CONTEXT = {
    "contact": {
        "first_name": "Dana",
        "last_name": "Reyes",
        "title": "VP of Sales",
        "company": "Acme Robotics",
    },
    "account": {"name": "Acme Robotics", "industry": "industrial automation"},
    "channel": "email",
    "tone": "professional",
    "max_words": 120,
}
MESSAGES = [
    ChatMessage("system", "You write concise B2B sales emails."),
    ChatMessage("user", f"Write the message.\n<context>\n{json.dumps(CONTEXT)}\n</context>"),
]


class Sandbox:
    """The sandbox on a background thread, steered through its HTTP control endpoints."""

    def __init__(self, handle: SandboxHandle) -> None:
        self.handle = handle
        self._control = httpx.Client(base_url=handle.root_url, timeout=5)

    def scenario(self, **changes: Any) -> None:
        self._control.post("/_sandbox/scenario", json=changes).raise_for_status()

    def reset(self) -> None:
        self._control.post("/_sandbox/reset").raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        recorded: list[dict[str, Any]] = self._control.get("/_sandbox/requests").json()["requests"]
        return recorded

    def statuses(self) -> list[int]:
        return [entry["status"] for entry in self.requests()]

    def close(self) -> None:
        self._control.close()


@dataclass
class Released:
    status: int | None
    tokens_used: int


class RecordingGate:
    """A CallGate that lets every call through and remembers what it was told."""

    def __init__(self) -> None:
        self.acquired: list[tuple[str, str, str | None, int]] = []
        self.released: list[Released] = []

    def acquire(
        self, *, provider: str, credential_key: str, tenant_id: str | None, estimated_tokens: int
    ) -> CallPermit:
        self.acquired.append((provider, credential_key, tenant_id, estimated_tokens))
        return CallPermit(provider, credential_key, tenant_id, estimated_tokens)

    def release(self, permit: CallPermit, outcome: CallOutcome) -> None:
        self.released.append(Released(outcome.status, outcome.tokens_used))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox_in_thread(SandboxConfig(hang_s=5.0)) as handle:
        steering = Sandbox(handle)
        yield steering
        steering.close()


@pytest.fixture(params=LLM_PROVIDERS)
def provider(request: pytest.FixtureRequest, sandbox: Sandbox) -> str:
    sandbox.reset()
    name: str = request.param
    return name


@pytest.fixture
def make_client(provider: str, sandbox: Sandbox) -> Iterator[Callable[..., HttpLlmClient]]:
    clients: list[HttpLlmClient] = []

    def make(**overrides: Any) -> HttpLlmClient:
        options: dict[str, Any] = {
            "base_url": sandbox.handle.provider_base_url(provider),
            "api_key": "sandbox-key",
            "model": MODELS[provider],
            "connect_timeout_s": 2.0,
            "read_timeout_s": 5.0,
            "total_timeout_s": 10.0,
            "max_attempts": 3,
            "max_inline_wait_s": 5.0,
            **overrides,
        }
        client = CLIENTS[provider](**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def draft(client: HttpLlmClient, **options: Any) -> Any:
    return client.complete_json(
        MESSAGES, schema_name="outreach_draft", schema=DRAFT_SCHEMA, **options
    )


def test_draft_cites_the_contact_and_company(
    provider: str, sandbox: Sandbox, make_client: Callable[..., HttpLlmClient]
) -> None:
    result = draft(make_client())

    body = result.data["body"]
    assert "Dana" in body
    assert "Acme Robotics" in body
    sources = {fact["source"] for fact in result.data["facts_used"]}
    assert {"contact.first_name", "contact.company"} <= sources
    assert result.model == MODELS[provider]
    assert result.tokens_in > 0
    assert result.tokens_out > 0
    assert result.request_id
    [recorded] = sandbox.requests()
    assert (recorded["provider"], recorded["model"], recorded["status"]) == (
        provider,
        MODELS[provider],
        200,
    )


def test_429_is_waited_out_for_the_hinted_time(
    provider: str, sandbox: Sandbox, make_client: Callable[..., HttpLlmClient]
) -> None:
    hint_s = 1.0
    sandbox.scenario(rate_limit_storm_s=hint_s, storm_retry_after_s=hint_s)
    client = make_client()

    started = time.monotonic()
    result = draft(client)

    assert time.monotonic() - started >= hint_s
    assert "Dana" in result.data["body"]
    limited, answered = sandbox.requests()
    assert (limited["status"], answered["status"]) == (429, 200)
    assert answered["received_mono"] - limited["received_mono"] >= hint_s


def test_a_hint_too_long_to_sleep_is_raised_for_deferral(
    provider: str, sandbox: Sandbox, make_client: Callable[..., HttpLlmClient]
) -> None:
    sandbox.scenario(rate_limit_storm_s=60, storm_retry_after_s=30)
    started = time.monotonic()
    with pytest.raises(RateLimited) as raised:
        draft(make_client(max_inline_wait_s=5.0))
    assert time.monotonic() - started < 1
    assert raised.value.delay_s == pytest.approx(30)
    assert sandbox.statuses() == [429]


def test_server_error_is_retried_then_succeeds(
    provider: str, sandbox: Sandbox, make_client: Callable[..., HttpLlmClient]
) -> None:
    sandbox.scenario(next_faults=["error"], error_status=503)
    assert "Dana" in draft(make_client()).data["body"]
    assert sandbox.statuses() == [503, 200]


def test_timeout_is_retried_then_succeeds(
    provider: str, sandbox: Sandbox, make_client: Callable[..., HttpLlmClient]
) -> None:
    sandbox.scenario(next_faults=["timeout"])
    started = time.monotonic()
    assert "Dana" in draft(make_client(read_timeout_s=0.3)).data["body"]
    assert time.monotonic() - started < 2
    # The sandbox notices the client hung up (499) and stops hanging.
    assert sandbox.statuses() == [499, 200]


def test_bad_request_fails_at_once_with_the_providers_reason(
    provider: str, sandbox: Sandbox, make_client: Callable[..., HttpLlmClient]
) -> None:
    with pytest.raises(ProviderRejected) as raised:
        draft(make_client(), temperature=5.0)
    assert str(raised.value).startswith(f"{provider}: status 400: ")
    assert "temperature" in str(raised.value)
    assert sandbox.statuses() == [400]


def test_wrong_key_fails_at_once_and_is_never_shown(
    provider: str, sandbox: Sandbox, make_client: Callable[..., HttpLlmClient]
) -> None:
    key = "invalid-key-0123456789abcdef"
    with pytest.raises(ProviderRejected) as raised:
        draft(make_client(api_key=key))
    expected = {
        "openai": "status 401: invalid_api_key",
        "anthropic": "status 401: authentication_error",
        "gemini": "status 400: INVALID_ARGUMENT: API key not valid",
    }[provider]
    assert expected in str(raised.value)
    assert key not in str(raised.value)
    assert len(sandbox.requests()) == 1


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("malformed", "not valid JSON"), ("wrong_schema", "does not match schema 'outreach_draft'")],
)
def test_bad_answers_are_asked_for_once_more_then_raised(
    provider: str,
    sandbox: Sandbox,
    make_client: Callable[..., HttpLlmClient],
    fault: str,
    reason: str,
) -> None:
    sandbox.scenario(next_faults=[fault, fault])
    with pytest.raises(ProviderResponseInvalid) as raised:
        draft(make_client())
    assert (raised.value.provider, raised.value.status) == (provider, 200)
    assert reason in str(raised.value)
    assert sandbox.statuses() == [200, 200]


def test_one_bad_answer_then_a_good_one_succeeds(
    provider: str, sandbox: Sandbox, make_client: Callable[..., HttpLlmClient]
) -> None:
    sandbox.scenario(next_faults=["wrong_schema"])
    assert "Dana" in draft(make_client()).data["body"]
    assert sandbox.statuses() == [200, 200]


def test_spent_quota_fails_at_once(
    provider: str, sandbox: Sandbox, make_client: Callable[..., HttpLlmClient]
) -> None:
    sandbox.scenario(quota_exhausted=True)
    with pytest.raises(ProviderRejected) as raised:
        draft(make_client())
    expected = {
        "openai": "insufficient_quota",
        "anthropic": "enforced_spend_limit_reached",
        "gemini": "no quota granted",
    }[provider]
    assert str(raised.value).startswith(f"{provider}: status 429: ")
    assert expected in str(raised.value)
    assert sandbox.statuses() == [429]


def test_gate_sees_acquire_and_release_for_every_attempt(
    provider: str, sandbox: Sandbox, make_client: Callable[..., HttpLlmClient]
) -> None:
    sandbox.scenario(next_faults=["timeout", "rate_limit"], storm_retry_after_s=0.1)
    gate = RecordingGate()
    client = make_client(gate=gate, tenant_id="tenant-9", read_timeout_s=0.3, max_attempts=4)
    result = draft(client, max_tokens=500)

    assert [r.status for r in gate.released] == [None, 429, 200]
    assert gate.released[-1].tokens_used == result.tokens_in + result.tokens_out
    characters = sum(len(message.content) for message in MESSAGES)
    assert gate.acquired == [(provider, "platform", "tenant-9", characters // 4 + 500)] * 3
    assert sandbox.statuses() == [499, 429, 200]


def test_a_slow_trickle_is_read_within_the_budget_and_cut_beyond_it(
    provider: str, sandbox: Sandbox, make_client: Callable[..., HttpLlmClient]
) -> None:
    sandbox.scenario(next_faults=["trickle"], trickle_s=0.2)
    started = time.monotonic()
    assert "Dana" in draft(make_client()).data["body"]
    assert time.monotonic() - started >= 0.15

    sandbox.scenario(next_faults=["trickle"], trickle_s=3.0)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="time budget ran out"):
        draft(make_client(total_timeout_s=0.4, read_timeout_s=1.0))
    assert time.monotonic() - started < 1.0
