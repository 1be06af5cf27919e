"""What every LLM client shares, checked for each provider against scripted answers
(httpx.MockTransport): gate hooks, answer validation, time budget, key redaction, factory."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

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
    build_llm_client,
)
from shared.ratelimit import CallOutcome, CallPermit
from shared.settings import Settings

pytestmark = pytest.mark.unit

API_KEY = "sk-unit-common-secret-0123456789"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["subject", "body"],
    "properties": {"subject": {"type": "string"}, "body": {"type": "string", "minLength": 1}},
}
MESSAGES = [ChatMessage("system", "You write emails."), ChatMessage("user", "Write one, please.")]
GOOD = {"subject": "Hello", "body": "Hi Dana"}
CLIENTS: dict[str, type[HttpLlmClient]] = {
    "openai": ChatCompletionsClient,
    "anthropic": AnthropicMessagesClient,
    "gemini": GeminiGenerateContentClient,
}
# Each provider's name for a transient server error and for a bad key.
SERVER_ERROR = {"openai": "server_error", "anthropic": "api_error", "gemini": "INTERNAL"}
BAD_KEY = {
    "openai": (401, "invalid_api_key"),
    "anthropic": (401, "authentication_error"),
    "gemini": (400, "INVALID_ARGUMENT"),
}

Step = httpx.Response | Exception | Callable[[], httpx.Response]


def answer(provider: str, text: str) -> httpx.Response:
    """A successful answer whose model text is ``text``, in ``provider``'s shape."""
    body: dict[str, Any]
    if provider == "openai":
        body = {
            "model": "gpt-test",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 7},
        }
    elif provider == "anthropic":
        body = {
            "id": "msg_1",
            "type": "message",
            "model": "claude-test",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 12, "output_tokens": 7},
        }
    else:
        body = {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
            ],
            "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 7},
            "modelVersion": "gemini-test",
        }
    return httpx.Response(200, json=body)


def ok(provider: str, data: Any = GOOD) -> httpx.Response:
    return answer(provider, json.dumps(data))


def failure(provider: str, status: int, code: str, message: str, **headers: str) -> httpx.Response:
    """An error response in ``provider``'s shape."""
    if provider == "openai":
        body: dict[str, Any] = {"error": {"message": message, "type": code, "code": code}}
    elif provider == "anthropic":
        body = {"type": "error", "error": {"type": code, "message": message}}
    else:
        body = {"error": {"code": status, "message": message, "status": code}}
    return httpx.Response(status, json=body, headers=headers)


class Script:
    """Answers requests in order (the last step repeats) and keeps what it received."""

    def __init__(self, *steps: Step) -> None:
        self._steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self._steps.pop(0) if len(self._steps) > 1 else self._steps[0]
        if isinstance(step, Exception):
            raise step
        return step() if callable(step) else step


@dataclass
class Released:
    status: int | None
    tokens_used: int
    retry_after_s: float | None


class RecordingGate:
    """A CallGate that admits everything and remembers every acquire and release."""

    def __init__(self, refuse_with: RateLimited | None = None) -> None:
        self.acquired: list[dict[str, Any]] = []
        self.released: list[Released] = []
        self._refuse_with = refuse_with

    def acquire(
        self, *, provider: str, credential_key: str, tenant_id: str | None, estimated_tokens: int
    ) -> CallPermit:
        self.acquired.append(
            {
                "provider": provider,
                "credential_key": credential_key,
                "tenant_id": tenant_id,
                "estimated_tokens": estimated_tokens,
            }
        )
        if self._refuse_with is not None:
            raise self._refuse_with
        return CallPermit(provider, credential_key, tenant_id, estimated_tokens)

    def release(self, permit: CallPermit, outcome: CallOutcome) -> None:
        self.released.append(Released(outcome.status, outcome.tokens_used, outcome.retry_after_s))


ClientFactory = Callable[..., HttpLlmClient]


@pytest.fixture(params=LLM_PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def make_client(provider: str) -> Iterator[ClientFactory]:
    clients: list[HttpLlmClient] = []

    def make(handler: Callable[[httpx.Request], httpx.Response], **overrides: Any) -> HttpLlmClient:
        options: dict[str, Any] = {
            "base_url": "https://llm.example/v1",
            "api_key": API_KEY,
            "model": "test-model",
            "connect_timeout_s": 1.0,
            "read_timeout_s": 2.0,
            "total_timeout_s": 10.0,
            "max_attempts": 4,
            **overrides,
        }
        client = CLIENTS[provider](**options, transport=httpx.MockTransport(handler))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def complete(client: HttpLlmClient, **options: Any) -> Any:
    return client.complete_json(MESSAGES, schema_name="draft", schema=SCHEMA, **options)


def test_gate_sees_every_attempt_with_its_outcome(
    provider: str, make_client: ClientFactory
) -> None:
    script = Script(
        httpx.ReadTimeout("read timed out"),
        failure(provider, 500, SERVER_ERROR[provider], "boom", **{"retry-after": "0"}),
        ok(provider),
    )
    gate = RecordingGate()
    client = make_client(script, gate=gate, credential_key="cred-7", tenant_id="tenant-1")

    result = complete(client, max_tokens=100)

    assert result.data == GOOD
    characters = sum(len(message.content) for message in MESSAGES)
    expected = {
        "provider": provider,
        "credential_key": "cred-7",
        "tenant_id": "tenant-1",
        "estimated_tokens": characters // 4 + 100,
    }
    assert gate.acquired == [expected] * 3
    assert [(r.status, r.tokens_used) for r in gate.released] == [(None, 0), (500, 0), (200, 19)]


def test_gate_hears_the_providers_retry_hint(provider: str, make_client: ClientFactory) -> None:
    limited = failure(provider, 429, "rate_limit", "slow down")
    limited.headers["retry-after"] = "0.1"
    gate = RecordingGate()
    complete(make_client(Script(limited, ok(provider)), gate=gate))
    assert [(r.status, r.retry_after_s) for r in gate.released] == [(429, 0.1), (200, None)]


def test_a_gate_deferral_is_raised_without_a_request(
    provider: str, make_client: ClientFactory
) -> None:
    script = Script(ok(provider))
    gate = RecordingGate(refuse_with=RateLimited("credential saturated", delay_s=12.0))
    with pytest.raises(RateLimited) as raised:
        complete(make_client(script, gate=gate))
    assert raised.value.delay_s == 12.0
    assert script.requests == []
    assert len(gate.acquired) == 1
    assert gate.released == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"subject": "Hel', "not valid JSON"),
        (json.dumps({"subject": "Hello", "body": 42}), "does not match schema 'draft' at body"),
        (json.dumps({"subject": "Hello", "body": ""}), "at body"),
    ],
)
def test_invalid_answers_are_asked_for_once_more_then_raised(
    provider: str, make_client: ClientFactory, text: str, reason: str
) -> None:
    script = Script(answer(provider, text))
    with pytest.raises(ProviderResponseInvalid) as raised:
        complete(make_client(script))
    assert len(script.requests) == 2
    assert str(raised.value).startswith(f"{provider}: status 200: ")
    assert reason in str(raised.value)


def test_a_body_trickling_past_the_budget_is_cut_off(
    provider: str, make_client: ClientFactory
) -> None:
    def trickle() -> Iterator[bytes]:
        for piece in ok(provider).content:
            time.sleep(0.05)
            yield bytes([piece])

    script = Script(lambda: httpx.Response(200, content=trickle()))
    client = make_client(script, total_timeout_s=0.4, read_timeout_s=1.0)

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="time budget ran out"):
        complete(client)
    assert time.monotonic() - started < 0.6


def test_the_api_key_never_reaches_errors_or_logs(
    provider: str, make_client: ClientFactory
) -> None:
    status, code = BAD_KEY[provider]
    overloaded = failure(
        provider, 500, SERVER_ERROR[provider], f"key {API_KEY} is busy", **{"retry-after": "0"}
    )
    refused = failure(provider, status, code, f"Incorrect API key provided: {API_KEY}.")
    script = Script(overloaded, refused)
    with capture_logs() as logs, pytest.raises(ProviderRejected) as raised:
        complete(make_client(script))
    assert len(script.requests) == 2
    assert str(raised.value).startswith(f"{provider}: status {status}: {code}: ")
    assert API_KEY not in str(raised.value)
    assert [log["event"] for log in logs] == ["provider.retry"]
    assert API_KEY not in repr(logs)

    unreachable = Script(httpx.ConnectError(f"cannot reach host for {API_KEY}"))
    with pytest.raises(ProviderUnavailable) as raised_again:
        complete(make_client(unreachable, max_attempts=1))
    assert "ConnectError" in str(raised_again.value)
    assert API_KEY not in str(raised_again.value)


def test_factory_builds_the_configured_provider(provider: str) -> None:
    settings = Settings(encryption_key="k" * 32, llm_provider=provider, llm_model="configured")
    script = Script(ok(provider))
    client = build_llm_client(
        settings, api_key="tenant-key-1", transport=httpx.MockTransport(script)
    )
    try:
        assert (client.provider, client.model) == (provider, "configured")
        assert client.complete_json(MESSAGES, schema_name="d", schema=SCHEMA).data == GOOD
    finally:
        client.close()
    [request] = script.requests
    sent_key = {
        "openai": request.headers.get("authorization"),
        "anthropic": request.headers.get("x-api-key"),
        "gemini": request.headers.get("x-goog-api-key"),
    }[provider]
    assert sent_key is not None
    assert sent_key.endswith("tenant-key-1")
    assert request.url.host == "127.0.0.1"


def test_factory_defaults_to_the_platform_key_and_provider_model() -> None:
    settings = Settings(
        encryption_key="k" * 32,
        anthropic_api_key="platform-anthropic-key",
        anthropic_base_url="https://anthropic.example",
    )
    script = Script(ok("anthropic"))
    client = build_llm_client(settings, "anthropic", transport=httpx.MockTransport(script))
    try:
        assert client.model == settings.anthropic_model
        client.complete_json(MESSAGES, schema_name="draft", schema=SCHEMA)
    finally:
        client.close()
    [request] = script.requests
    assert request.headers["x-api-key"] == "platform-anthropic-key"
    assert str(request.url) == "https://anthropic.example/v1/messages"


def test_factory_refuses_an_unknown_provider() -> None:
    with pytest.raises(ValueError, match="unknown LLM provider 'mistral'"):
        build_llm_client(Settings(encryption_key="k" * 32), "mistral")
