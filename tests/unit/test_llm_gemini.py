"""The Gemini generateContent client against scripted answers (httpx.MockTransport)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from shared.errors import RateLimited
from shared.llm import (
    ChatMessage,
    GeminiGenerateContentClient,
    ProviderRequestRejected,
    ProviderUnavailable,
    parse_google_duration_s,
)

pytestmark = pytest.mark.unit

API_KEY = "AIza-unit-secret-0123456789"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["subject", "body"],
    "properties": {"subject": {"type": "string"}, "body": {"type": "string"}},
}
MESSAGES = [
    ChatMessage("system", "You write emails."),
    ChatMessage("user", "Write one."),
    ChatMessage("assistant", "For whom?"),
    ChatMessage("user", "For Dana."),
]
GOOD = {"subject": "Hello", "body": "Hi Dana"}
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"

Handler = Callable[[httpx.Request], httpx.Response]


def generated(text: str, *, finish_reason: str = "STOP") -> httpx.Response:
    body = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": finish_reason,
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 31,
            "candidatesTokenCount": 11,
            "thoughtsTokenCount": 4,
            "totalTokenCount": 46,
        },
        "modelVersion": "gemini-2.5-flash-001",
        "responseId": "resp-abc",
    }
    return httpx.Response(200, json=body)


def error(status: int, state: str, text: str, *details: dict[str, Any]) -> httpx.Response:
    body = {"error": {"code": status, "message": text, "status": state, "details": list(details)}}
    return httpx.Response(status, json=body)


def quota(quota_id: str, value: str) -> dict[str, Any]:
    violation = {
        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
        "quotaId": quota_id,
        "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
        "quotaValue": value,
    }
    return {"@type": QUOTA_FAILURE, "violations": [violation]}


def retry_in(delay: str) -> dict[str, Any]:
    return {"@type": RETRY_INFO, "retryDelay": delay}


class Script:
    def __init__(self, *responses: httpx.Response) -> None:
        self._responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._responses.pop(0) if len(self._responses) > 1 else self._responses[0]


@pytest.fixture
def make_client() -> Iterator[Callable[..., GeminiGenerateContentClient]]:
    clients: list[GeminiGenerateContentClient] = []

    def make(handler: Handler, **overrides: Any) -> GeminiGenerateContentClient:
        options: dict[str, Any] = {
            "base_url": "https://gemini.example/v1beta",
            "api_key": API_KEY,
            "model": "gemini-2.5-flash",
            "connect_timeout_s": 1.0,
            "read_timeout_s": 2.0,
            "total_timeout_s": 10.0,
            "max_attempts": 4,
            **overrides,
        }
        client = GeminiGenerateContentClient(**options, transport=httpx.MockTransport(handler))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def complete(client: GeminiGenerateContentClient) -> Any:
    return client.complete_json(MESSAGES, schema_name="draft", schema=SCHEMA, max_tokens=256)


def test_request_follows_generate_content_and_the_answer_is_read(
    make_client: Callable[..., GeminiGenerateContentClient],
) -> None:
    script = Script(generated(json.dumps(GOOD)))
    result = complete(make_client(script))

    assert result.data == GOOD
    assert (result.tokens_in, result.tokens_out) == (31, 15)
    assert (result.model, result.request_id) == ("gemini-2.5-flash-001", "resp-abc")
    [request] = script.requests
    assert str(request.url) == (
        "https://gemini.example/v1beta/models/gemini-2.5-flash:generateContent"
    )
    assert request.headers["x-goog-api-key"] == API_KEY
    assert API_KEY not in str(request.url)
    sent = json.loads(request.content)
    assert sent["systemInstruction"] == {"parts": [{"text": "You write emails."}]}
    assert sent["contents"] == [
        {"role": "user", "parts": [{"text": "Write one."}]},
        {"role": "model", "parts": [{"text": "For whom?"}]},
        {"role": "user", "parts": [{"text": "For Dana."}]},
    ]
    assert sent["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "OBJECT",
            "properties": {"subject": {"type": "STRING"}, "body": {"type": "STRING"}},
            "propertyOrdering": ["subject", "body"],
            "required": ["subject", "body"],
        },
        "temperature": 0.4,
        "maxOutputTokens": 256,
    }


def test_thought_parts_are_not_the_answer(
    make_client: Callable[..., GeminiGenerateContentClient],
) -> None:
    body = generated(json.dumps(GOOD)).json()
    parts = body["candidates"][0]["content"]["parts"]
    parts.insert(0, {"text": "thinking it over", "thought": True})
    assert complete(make_client(Script(httpx.Response(200, json=body)))).data == GOOD


@pytest.mark.parametrize(
    ("finish_reason", "reason"),
    [
        ("MAX_TOKENS", r"max_tokens=256 \(finishReason=MAX_TOKENS\)"),
        ("SAFETY", r"withheld \(finishReason=SAFETY\)"),
    ],
)
def test_cut_off_or_withheld_answers_fail_clearly(
    make_client: Callable[..., GeminiGenerateContentClient], finish_reason: str, reason: str
) -> None:
    response = generated('{"subject": "Hi', finish_reason=finish_reason)
    with pytest.raises(ProviderRequestRejected, match=reason):
        complete(make_client(Script(response)))


def test_a_blocked_prompt_fails_clearly(
    make_client: Callable[..., GeminiGenerateContentClient],
) -> None:
    blocked = httpx.Response(200, json={"promptFeedback": {"blockReason": "SAFETY"}})
    with pytest.raises(ProviderRequestRejected, match=r"blockReason=SAFETY"):
        complete(make_client(Script(blocked)))


def test_429_waits_for_retry_info_then_succeeds(
    make_client: Callable[..., GeminiGenerateContentClient],
) -> None:
    limited = error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota.",
        quota("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "10"),
        retry_in("0.6s"),
    )
    script = Script(limited, generated(json.dumps(GOOD)))
    started = time.monotonic()
    assert complete(make_client(script)).data == GOOD
    assert time.monotonic() - started >= 0.6
    assert len(script.requests) == 2


def test_a_long_retry_delay_is_raised_for_deferral(
    make_client: Callable[..., GeminiGenerateContentClient],
) -> None:
    limited = error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", retry_in("58s"))
    script = Script(limited)
    started = time.monotonic()
    with pytest.raises(RateLimited) as raised:
        complete(make_client(script, max_inline_wait_s=5))
    assert time.monotonic() - started < 1
    assert raised.value.delay_s == 58.0
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("status", "state"), [(500, "INTERNAL"), (503, "UNAVAILABLE"), (504, "DEADLINE_EXCEEDED")]
)
def test_server_errors_are_retried(
    make_client: Callable[..., GeminiGenerateContentClient], status: int, state: str
) -> None:
    failed = error(status, state, "The model is overloaded.", retry_in("0s"))
    script = Script(failed, generated(json.dumps(GOOD)))
    assert complete(make_client(script)).data == GOOD
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (error(400, "INVALID_ARGUMENT", "API key not valid."), "INVALID_ARGUMENT: API key"),
        (error(400, "FAILED_PRECONDITION", "User location is not supported"), "FAILED_PRE"),
        (error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers"), "PERMI"),
        (error(404, "NOT_FOUND", "models/gemini-nope is not found"), "NOT_FOUND"),
        (
            error(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded, limit: 0",
                quota("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "0"),
                retry_in("30s"),
            ),
            "no quota granted",
        ),
        (
            error(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for requests per day",
                quota("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "250"),
                retry_in("30s"),
            ),
            "daily quota spent: GenerateRequestsPerDayPerProjectPerModel-FreeTier = 250",
        ),
    ],
)
def test_requests_that_cannot_succeed_fail_at_once(
    make_client: Callable[..., GeminiGenerateContentClient],
    response: httpx.Response,
    reason: str,
) -> None:
    script = Script(response)
    with pytest.raises(ProviderRequestRejected) as raised:
        complete(make_client(script))
    assert len(script.requests) == 1
    assert (raised.value.provider, raised.value.status) == ("gemini", response.status_code)
    assert str(raised.value).startswith(f"gemini: status {response.status_code}: ")
    assert reason in str(raised.value)


def test_server_errors_exhaust_into_a_transient_error(
    make_client: Callable[..., GeminiGenerateContentClient],
) -> None:
    failed = error(503, "UNAVAILABLE", "The model is overloaded.", retry_in("0s"))
    with pytest.raises(ProviderUnavailable, match="gemini: status 503: UNAVAILABLE"):
        complete(make_client(Script(failed), max_attempts=2))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("58s", 58.0), ("0.250s", 0.25), ("1.5s", 1.5), ("58", None), ("", None), (None, None)],
)
def test_parse_google_duration(text: str | None, seconds: float | None) -> None:
    assert parse_google_duration_s(text) == seconds
