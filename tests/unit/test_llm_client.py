"""The chat-completions client against scripted provider answers (httpx.MockTransport)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from shared.errors import ProviderRejected, RateLimited, TransientError
from shared.llm import (
    ChatCompletionsClient,
    ChatMessage,
    ProviderResponseInvalid,
    ProviderUnavailable,
    parse_duration_s,
    parse_retry_after_s,
    suggested_delay_s,
)
from shared.settings import Settings

ClientFactory = Callable[..., ChatCompletionsClient]

pytestmark = pytest.mark.unit

API_KEY = "sk-unit-test-secret-0123456789"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["subject", "body"],
    "properties": {"subject": {"type": "string"}, "body": {"type": "string"}},
}
MESSAGES = [ChatMessage("system", "You write emails."), ChatMessage("user", "Write one.")]
GOOD_ANSWER = {"subject": "Hello", "body": "Hi Dana"}

Handler = Callable[[httpx.Request], httpx.Response]


class ScriptedProvider:
    """Answers requests from a script, one response per request, and keeps what it received."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self._script = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self._script.pop(0) if len(self._script) > 1 else self._script[0]
        if isinstance(step, Exception):
            raise step
        return step


def completion(content: str, *, finish_reason: str = "stop", refusal: str | None = None) -> Any:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
    }


def ok(data: Any = GOOD_ANSWER) -> httpx.Response:
    body = completion(json.dumps(data))
    return httpx.Response(200, json=body, headers={"x-request-id": "req_123"})


def error(status: int, code: str | None, message: str, **headers: str) -> httpx.Response:
    body = {"error": {"message": message, "type": "error", "param": None, "code": code}}
    return httpx.Response(status, json=body, headers=headers)


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    clients: list[ChatCompletionsClient] = []

    def make(handler: Handler, **overrides: Any) -> ChatCompletionsClient:
        options: dict[str, Any] = {
            "base_url": "https://llm.example/v1",
            "api_key": API_KEY,
            "model": "gpt-4o-mini",
            "connect_timeout_s": 1.0,
            "read_timeout_s": 2.0,
            "total_timeout_s": 10.0,
            "max_attempts": 4,
            **overrides,
        }
        client = ChatCompletionsClient(**options, transport=httpx.MockTransport(handler))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def complete(client: ChatCompletionsClient) -> Any:
    return client.complete_json(MESSAGES, schema_name="draft", schema=SCHEMA)


def test_success_returns_data_usage_and_sends_openai_request(make_client: ClientFactory) -> None:
    provider = ScriptedProvider(ok())
    result = complete(make_client(provider))

    assert result.data == GOOD_ANSWER
    assert (result.tokens_in, result.tokens_out) == (12, 7)
    assert result.model == "gpt-4o-mini-2024-07-18"
    assert result.request_id == "req_123"
    assert result.latency_ms >= 0
    [request] = provider.requests
    assert str(request.url) == "https://llm.example/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    sent = json.loads(request.content)
    assert sent["model"] == "gpt-4o-mini"
    assert sent["messages"][1] == {"role": "user", "content": "Write one."}
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "draft", "schema": SCHEMA, "strict": True},
    }
    assert (sent["temperature"], sent["max_tokens"]) == (0.4, 800)


def test_from_settings_uses_the_llm_settings() -> None:
    settings = Settings(
        encryption_key="k" * 32,
        openai_base_url="https://settings.example/v1",
        openai_api_key=API_KEY,
        llm_model="gpt-settings",
    )
    provider = ScriptedProvider(ok())
    with ChatCompletionsClient.from_settings(
        settings, transport=httpx.MockTransport(provider)
    ) as client:
        complete(client)
    [request] = provider.requests
    assert request.url.host == "settings.example"
    assert json.loads(request.content)["model"] == "gpt-settings"


def test_429_is_retried_after_the_retry_after_ms_wait(make_client: ClientFactory) -> None:
    limited = error(429, "rate_limit_exceeded", "Rate limit reached", **{"retry-after-ms": "150"})
    provider = ScriptedProvider(limited, ok())

    started = time.monotonic()
    result = complete(make_client(provider))

    assert result.data == GOOD_ANSWER
    assert len(provider.requests) == 2
    assert time.monotonic() - started >= 0.15


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(make_client: ClientFactory, status: int) -> None:
    provider = ScriptedProvider(error(status, None, "The server had an error"), ok())
    assert complete(make_client(provider)).data == GOOD_ANSWER
    assert len(provider.requests) == 2


def test_timeouts_exhaust_attempts_into_a_transient_error(make_client: ClientFactory) -> None:
    provider = ScriptedProvider(httpx.ReadTimeout("read timed out"))
    with pytest.raises(ProviderUnavailable, match=r"openai: status no response: timed out"):
        complete(make_client(provider, max_attempts=2))
    assert len(provider.requests) == 2


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (
            error(401, "invalid_api_key", f"Incorrect API key provided: {API_KEY}."),
            "invalid_api_key",
        ),
        (
            error(429, "insufficient_quota", "You exceeded your current quota."),
            "insufficient_quota",
        ),
        (error(400, "invalid_value", "Invalid value for 'messages'."), "invalid_value"),
        (error(403, "unsupported_country_region_territory", "Not supported."), "unsupported"),
        (error(404, "model_not_found", "The model does not exist."), "model_not_found"),
        (error(422, None, "Unprocessable."), "Unprocessable"),
    ],
)
def test_requests_that_cannot_succeed_fail_at_once(
    make_client: ClientFactory, response: httpx.Response, reason: str
) -> None:
    provider = ScriptedProvider(response)
    with pytest.raises(ProviderRejected) as raised:
        complete(make_client(provider))

    assert len(provider.requests) == 1
    message = str(raised.value)
    assert message.startswith(f"openai: status {response.status_code}: ")
    assert reason in message
    assert API_KEY not in message


def test_malformed_json_is_asked_for_once_more_then_raises(make_client: ClientFactory) -> None:
    broken = httpx.Response(200, json=completion('{"subject": "Hel'))
    provider = ScriptedProvider(broken)
    with pytest.raises(ProviderResponseInvalid, match="not valid JSON") as raised:
        complete(make_client(provider))
    assert isinstance(raised.value, TransientError)
    assert len(provider.requests) == 2


def test_malformed_answer_followed_by_a_good_one_succeeds(make_client: ClientFactory) -> None:
    provider = ScriptedProvider(httpx.Response(200, content=b"<html>oops"), ok())
    assert complete(make_client(provider)).data == GOOD_ANSWER


def test_answer_off_schema_raises_naming_the_field(make_client: ClientFactory) -> None:
    provider = ScriptedProvider(ok({"subject": "Hello", "body": 42}))
    with pytest.raises(ProviderResponseInvalid, match=r"status 200: .*'draft' at body"):
        complete(make_client(provider))
    assert len(provider.requests) == 2


def test_refusal_and_truncation_are_rejected_clearly(make_client: ClientFactory) -> None:
    refused = httpx.Response(200, json=completion("", refusal="I can't help with that."))
    with pytest.raises(ProviderRejected, match="model refused: I can't help with that"):
        complete(make_client(ScriptedProvider(refused)))
    cut = httpx.Response(200, json=completion('{"subject": "Hi', finish_reason="length"))
    with pytest.raises(ProviderRejected, match=r"max_tokens=800 \(finish_reason=length\)"):
        complete(make_client(ScriptedProvider(cut)))


def test_total_timeout_stops_before_a_wait_that_would_exceed_it(make_client: ClientFactory) -> None:
    limited = error(429, "rate_limit_exceeded", "Slow down", **{"retry-after-ms": "300"})
    provider = ScriptedProvider(limited)
    client = make_client(provider, total_timeout_s=0.5, max_attempts=10)

    started = time.monotonic()
    with pytest.raises(RateLimited) as raised:
        complete(client)

    assert time.monotonic() - started < 0.5
    assert len(provider.requests) == 2
    assert raised.value.delay_s == pytest.approx(0.3)


def test_rate_limited_carries_the_reset_duration_when_no_retry_after(
    make_client: ClientFactory,
) -> None:
    limited = error(
        429,
        "rate_limit_exceeded",
        "Rate limit reached",
        **{
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": "6m0s",
            "x-ratelimit-remaining-tokens": "1200",
            "x-ratelimit-reset-tokens": "12ms",
        },
    )
    provider = ScriptedProvider(limited)
    with pytest.raises(RateLimited) as raised:
        complete(make_client(provider, total_timeout_s=5.0))
    assert raised.value.delay_s == 360.0
    assert len(provider.requests) == 1


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("12ms", 0.012),
        ("6m0s", 360.0),
        ("1.5s", 1.5),
        ("1h2m3s", 3723.0),
        ("250us", 0.00025),
        ("20", 20.0),
        ("", None),
        ("soon", None),
        ("5s later", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration_s(text) == pytest.approx(seconds)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after_s("7", now=now) == 7.0
    assert parse_retry_after_s(later, now=now) == pytest.approx(30.0)
    assert parse_retry_after_s("not a date", now=now) is None


def test_suggested_delay_precedence() -> None:
    both = httpx.Headers({"retry-after-ms": "250", "retry-after": "3"})
    assert suggested_delay_s(both) == 0.25
    assert suggested_delay_s(httpx.Headers({"retry-after": "3"})) == 3.0
    tokens_spent = httpx.Headers(
        {
            "x-ratelimit-remaining-requests": "10",
            "x-ratelimit-reset-requests": "1m0s",
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": "1.5s",
        }
    )
    assert suggested_delay_s(tokens_spent) == 1.5
    assert suggested_delay_s(httpx.Headers({})) is None


def test_a_long_suggested_wait_is_not_slept_but_raised_for_deferral(
    make_client: ClientFactory,
) -> None:
    limited = error(429, "rate_limit_exceeded", "Rate limit reached", **{"retry-after": "30"})
    provider = ScriptedProvider(limited)
    client = make_client(provider, total_timeout_s=120, max_attempts=5, max_inline_wait_s=5)

    started = time.monotonic()
    with pytest.raises(RateLimited) as raised:
        complete(client)

    assert time.monotonic() - started < 1, "a worker thread must not sleep out a long limit"
    assert len(provider.requests) == 1
    assert raised.value.delay_s == pytest.approx(30)
