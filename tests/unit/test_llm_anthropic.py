"""The Anthropic messages client against scripted answers (httpx.MockTransport)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.errors import ProviderRejected, RateLimited
from shared.llm import (
    AnthropicMessagesClient,
    ChatMessage,
    ProviderRequestRejected,
    ProviderUnavailable,
    anthropic_suggested_delay_s,
)

pytestmark = pytest.mark.unit

API_KEY = "sk-ant-unit-secret-0123456789"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["subject", "body"],
    "properties": {"subject": {"type": "string"}, "body": {"type": "string", "minLength": 1}},
}
MESSAGES = [
    ChatMessage("system", "You write emails."),
    ChatMessage("user", "Write one."),
    ChatMessage("assistant", "Sure, for whom?"),
    ChatMessage("user", "For Dana."),
]
GOOD = {"subject": "Hello", "body": "Hi Dana"}

Handler = Callable[[httpx.Request], httpx.Response]


def message(text: str, *, stop_reason: str = "end_turn", **usage: int) -> httpx.Response:
    body = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 9, **usage},
    }
    return httpx.Response(200, json=body, headers={"request-id": "req_011"})


def error(
    status: int, error_type: str, text: str, details: Any = None, **headers: str
) -> httpx.Response:
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": text}}
    if details is not None:
        body["error"]["details"] = details
    body["request_id"] = "req_err"
    return httpx.Response(status, json=body, headers=headers)


class Script:
    def __init__(self, *responses: httpx.Response) -> None:
        self._responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._responses.pop(0) if len(self._responses) > 1 else self._responses[0]


@pytest.fixture
def make_client() -> Iterator[Callable[..., AnthropicMessagesClient]]:
    clients: list[AnthropicMessagesClient] = []

    def make(handler: Handler, **overrides: Any) -> AnthropicMessagesClient:
        options: dict[str, Any] = {
            "base_url": "https://api.anthropic.example",
            "api_key": API_KEY,
            "model": "claude-sonnet-4-5",
            "connect_timeout_s": 1.0,
            "read_timeout_s": 2.0,
            "total_timeout_s": 10.0,
            "max_attempts": 4,
            **overrides,
        }
        client = AnthropicMessagesClient(**options, transport=httpx.MockTransport(handler))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def complete(client: AnthropicMessagesClient) -> Any:
    return client.complete_json(MESSAGES, schema_name="draft", schema=SCHEMA, max_tokens=300)


def test_request_follows_the_messages_api_and_the_answer_is_read(
    make_client: Callable[..., AnthropicMessagesClient],
) -> None:
    script = Script(message(json.dumps(GOOD), cache_read_input_tokens=5))
    result = complete(make_client(script))

    assert result.data == GOOD
    assert (result.tokens_in, result.tokens_out) == (25, 9)
    assert result.model == "claude-sonnet-4-5-20250929"
    assert result.request_id == "req_011"
    [request] = script.requests
    assert str(request.url) == "https://api.anthropic.example/v1/messages"
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    sent = json.loads(request.content)
    assert sent["system"] == "You write emails."
    assert sent["messages"] == [
        {"role": "user", "content": "Write one."},
        {"role": "assistant", "content": "Sure, for whom?"},
        {"role": "user", "content": "For Dana."},
    ]
    assert (sent["model"], sent["max_tokens"], sent["temperature"]) == (
        "claude-sonnet-4-5",
        300,
        0.4,
    )
    output_format = sent["output_config"]["format"]
    assert output_format["type"] == "json_schema"
    body_schema = output_format["schema"]["properties"]["body"]
    assert "minLength" not in body_schema, "structured outputs refuse minLength"
    assert "minLength: 1" in body_schema["description"]
    assert output_format["schema"]["additionalProperties"] is False


def test_the_first_text_block_is_the_answer(
    make_client: Callable[..., AnthropicMessagesClient],
) -> None:
    answer = message(json.dumps(GOOD))
    body = answer.json()
    body["content"].insert(0, {"type": "thinking", "thinking": "hmm", "signature": "s"})
    assert complete(make_client(Script(httpx.Response(200, json=body)))).data == GOOD


def test_a_cut_off_answer_and_a_refusal_fail_clearly(
    make_client: Callable[..., AnthropicMessagesClient],
) -> None:
    cut = message('{"subject": "Hi', stop_reason="max_tokens")
    with pytest.raises(ProviderRequestRejected, match=r"max_tokens=300 \(stop_reason=max_tokens\)"):
        complete(make_client(Script(cut)))
    refused = message("I can't help with that.", stop_reason="refusal")
    with pytest.raises(ProviderRejected, match="refused"):
        complete(make_client(Script(refused)))


def test_429_waits_for_retry_after_then_succeeds(
    make_client: Callable[..., AnthropicMessagesClient],
) -> None:
    limited = error(429, "rate_limit_error", "Number of requests has exceeded your rate limit")
    limited.headers["retry-after"] = "1"
    script = Script(limited, message(json.dumps(GOOD)))

    started = time.monotonic()
    assert complete(make_client(script)).data == GOOD
    assert time.monotonic() - started >= 1.0
    assert len(script.requests) == 2


def test_429_without_retry_after_reads_the_rfc3339_reset(
    make_client: Callable[..., AnthropicMessagesClient],
) -> None:
    reset = (datetime.now(UTC) + timedelta(seconds=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    limited = error(
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit",
        **{
            "anthropic-ratelimit-requests-remaining": "12",
            "anthropic-ratelimit-requests-reset": reset,
            "anthropic-ratelimit-input-tokens-remaining": "0",
            "anthropic-ratelimit-input-tokens-reset": reset,
        },
    )
    script = Script(limited)
    with pytest.raises(RateLimited) as raised:
        complete(make_client(script, max_inline_wait_s=5))
    assert 38 <= raised.value.delay_s <= 40
    assert len(script.requests) == 1


@pytest.mark.parametrize(("status", "error_type"), [(500, "api_error"), (529, "overloaded_error")])
def test_server_errors_are_retried(
    make_client: Callable[..., AnthropicMessagesClient], status: int, error_type: str
) -> None:
    script = Script(
        error(status, error_type, "Overloaded", **{"retry-after": "0"}),
        message(json.dumps(GOOD)),
    )
    assert complete(make_client(script)).data == GOOD
    assert len(script.requests) == 2


def test_server_errors_exhaust_into_a_transient_error(
    make_client: Callable[..., AnthropicMessagesClient],
) -> None:
    script = Script(error(529, "overloaded_error", "Overloaded", **{"retry-after": "0"}))
    with pytest.raises(ProviderUnavailable, match="anthropic: status 529: overloaded_error"):
        complete(make_client(script, max_attempts=3))
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (error(400, "invalid_request_error", "max_tokens: Field required"), "max_tokens"),
        (error(401, "authentication_error", f"invalid x-api-key {API_KEY}"), "invalid x-api-key"),
        (error(403, "permission_error", "Your API key does not have permission"), "permission"),
        (error(404, "not_found_error", "model: claude-nope"), "not_found_error"),
        (error(413, "request_too_large", "Request exceeds the maximum size"), "too_large"),
        (
            error(
                429,
                "rate_limit_error",
                "You have reached your specified API usage limits.",
                {"error_code": "enforced_spend_limit_reached"},
            ),
            "enforced_spend_limit_reached",
        ),
    ],
)
def test_requests_that_cannot_succeed_fail_at_once(
    make_client: Callable[..., AnthropicMessagesClient], response: httpx.Response, reason: str
) -> None:
    script = Script(response)
    with pytest.raises(ProviderRequestRejected) as raised:
        complete(make_client(script))
    assert len(script.requests) == 1
    assert (raised.value.provider, raised.value.status) == ("anthropic", response.status_code)
    assert str(raised.value).startswith(f"anthropic: status {response.status_code}: ")
    assert reason in str(raised.value)
    assert API_KEY not in str(raised.value)


def test_413_from_cloudflare_in_html_is_still_a_clear_rejection(
    make_client: Callable[..., AnthropicMessagesClient],
) -> None:
    html = httpx.Response(413, text="<html><body>413 Request Entity Too Large</body></html>")
    with pytest.raises(ProviderRequestRejected, match=r"anthropic: status 413: .*Too Large"):
        complete(make_client(Script(html)))


def test_suggested_delay_precedence() -> None:
    now = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    soon, later = "2026-01-15T09:00:05Z", "2026-01-15T09:01:00Z"
    assert anthropic_suggested_delay_s({"retry-after": "7", "x": "y"}, now=now) == 7.0
    exhausted_tokens = {
        "anthropic-ratelimit-requests-remaining": "40",
        "anthropic-ratelimit-requests-reset": soon,
        "anthropic-ratelimit-output-tokens-remaining": "0",
        "anthropic-ratelimit-output-tokens-reset": later,
    }
    assert anthropic_suggested_delay_s(exhausted_tokens, now=now) == 60.0
    nothing_spent = {**exhausted_tokens, "anthropic-ratelimit-output-tokens-remaining": "900"}
    assert anthropic_suggested_delay_s(nothing_spent, now=now) == 5.0
    assert anthropic_suggested_delay_s({"anthropic-ratelimit-requests-reset": "soon"}) is None
    assert anthropic_suggested_delay_s({}) is None
