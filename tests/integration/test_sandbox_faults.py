"""The sandbox itself over raw HTTP: each provider's error shapes and rate-limit headers,
scenarios switched mid-run, the request log's per-second windows, and its command line."""

from __future__ import annotations

import argparse
import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.sandbox import (
    SandboxConfig,
    add_sandbox_arguments,
    config_from_args,
    start_sandbox_in_thread,
)

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["answer"],
    "properties": {"answer": {"type": "string"}},
}
GEMINI_SCHEMA = {"type": "OBJECT", "properties": {"answer": {"type": "STRING"}}}
KEY = "sandbox-key"


def openai_call(http: httpx.Client, **headers: str) -> httpx.Response:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 100,
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": SCHEMA}},
    }
    return http.post("/v1/chat/completions", json=body, headers=headers)


def anthropic_call(
    http: httpx.Client, schema: dict[str, Any] = SCHEMA, **headers: str
) -> httpx.Response:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
        "output_config": {"format": {"type": "json_schema", "schema": schema}},
    }
    return http.post("/v1/messages", json=body, headers=headers)


def gemini_call(
    http: httpx.Client, schema: dict[str, Any] = GEMINI_SCHEMA, **headers: str
) -> httpx.Response:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseSchema": schema},
    }
    return http.post("/v1beta/models/gemini-2.5-flash:generateContent", json=body, headers=headers)


OPENAI_KEY = {"Authorization": f"Bearer {KEY}"}
ANTHROPIC_KEY = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
GEMINI_KEY = {"x-goog-api-key": KEY}


@pytest.fixture(scope="module")
def root_url() -> Iterator[str]:
    with start_sandbox_in_thread(SandboxConfig(latency_ms=1)) as handle:
        yield handle.root_url


@pytest.fixture
def http(root_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=root_url, timeout=5) as client:
        client.post("/_sandbox/reset").raise_for_status()
        yield client


def test_a_missing_key_is_refused_in_each_providers_shape(http: httpx.Client) -> None:
    refused = openai_call(http)
    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "invalid_request_error"

    refused = anthropic_call(http, **{"anthropic-version": "2023-06-01"})
    assert refused.status_code == 401
    body = refused.json()
    assert (body["type"], body["error"]["type"]) == ("error", "authentication_error")
    assert body["request_id"] == refused.headers["request-id"]

    # Gemini answers a call without any key 403, as the real API does.
    refused = gemini_call(http)
    assert refused.status_code == 403
    assert refused.json()["error"] | {"message": ""} == {
        "code": 403,
        "message": "",
        "status": "PERMISSION_DENIED",
    }

    recorded = http.get("/_sandbox/requests").json()["requests"]
    assert [(r["provider"], r["status"]) for r in recorded] == [
        ("openai", 401),
        ("anthropic", 401),
        ("gemini", 403),
    ]


def test_success_bodies_have_each_providers_shape(http: httpx.Client) -> None:
    openai = openai_call(http, **OPENAI_KEY)
    assert openai.json()["choices"][0]["finish_reason"] == "stop"
    assert openai.headers["x-ratelimit-limit-requests"]

    anthropic = anthropic_call(http, **ANTHROPIC_KEY).json()
    assert (anthropic["type"], anthropic["stop_reason"]) == ("message", "end_turn")
    assert anthropic["content"][0]["type"] == "text"
    assert set(anthropic["usage"]) == {"input_tokens", "output_tokens"}

    gemini = http.post(
        "/v1beta/models/gemini-2.5-flash:generateContent?key=sandbox-key",
        json={"contents": [{"parts": [{"text": "hi"}]}]},
    ).json()
    assert gemini["candidates"][0]["finishReason"] == "STOP"
    assert gemini["usageMetadata"]["promptTokenCount"] > 0


def test_requests_per_minute_answer_429_with_each_providers_headers(http: httpx.Client) -> None:
    http.post("/_sandbox/scenario", json={"requests_per_minute": 2}).raise_for_status()
    calls = [
        lambda: openai_call(http, **OPENAI_KEY),
        lambda: anthropic_call(http, **ANTHROPIC_KEY),
        lambda: gemini_call(http, **GEMINI_KEY),
    ]
    answers = [[call() for _ in range(3)] for call in calls]
    assert [[r.status_code for r in per_provider] for per_provider in answers] == [
        [200, 200, 429]
    ] * 3

    openai_ok, _, openai_limited = answers[0]
    assert openai_ok.headers["x-ratelimit-limit-requests"] == "2"
    assert openai_limited.headers["x-ratelimit-remaining-requests"] == "0"
    assert 25 <= int(openai_limited.headers["retry-after"]) <= 30
    assert openai_limited.json()["error"]["code"] == "rate_limit_exceeded"

    anthropic_ok, _, anthropic_limited = answers[1]
    assert anthropic_ok.headers["anthropic-ratelimit-requests-limit"] == "2"
    assert anthropic_ok.headers["anthropic-ratelimit-requests-remaining"] == "1"
    reset = datetime.fromisoformat(anthropic_limited.headers["anthropic-ratelimit-requests-reset"])
    assert 20 <= (reset - datetime.now(UTC)).total_seconds() <= 31
    assert anthropic_limited.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert 25 <= int(anthropic_limited.headers["retry-after"]) <= 30
    assert anthropic_limited.json()["error"]["type"] == "rate_limit_error"

    gemini_limited = answers[2][2].json()["error"]
    assert gemini_limited["status"] == "RESOURCE_EXHAUSTED"
    details = {detail["@type"].rsplit(".", 1)[-1]: detail for detail in gemini_limited["details"]}
    assert details["QuotaFailure"]["violations"][0]["quotaValue"] == "2"
    assert 25 <= float(details["RetryInfo"]["retryDelay"].removesuffix("s")) <= 30

    windows = http.get("/_sandbox/requests", params={"window_s": 1}).json()["windows"]
    assert windows == [{"start_s": 0.0, "count": 9}]


def test_tokens_per_minute_count_prompt_and_max_tokens(http: httpx.Client) -> None:
    http.post("/_sandbox/scenario", json={"tokens_per_minute": 150}).raise_for_status()
    assert openai_call(http, **OPENAI_KEY).status_code == 200
    limited = openai_call(http, **OPENAI_KEY)
    assert limited.status_code == 429
    assert limited.json()["error"]["type"] == "tokens"
    assert limited.headers["x-ratelimit-remaining-tokens"] == "0"


def test_a_storm_sends_each_providers_hint_and_then_passes(http: httpx.Client) -> None:
    changes = {"rate_limit_storm_s": 0.6, "storm_retry_after_s": 2}
    assert http.post("/_sandbox/scenario", json=changes).json()["storm_remaining_s"] > 0

    assert openai_call(http, **OPENAI_KEY).headers["retry-after"] == "2"
    limited = anthropic_call(http, **ANTHROPIC_KEY)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "2")
    details = gemini_call(http, **GEMINI_KEY).json()["error"]["details"]
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"} in details

    time.sleep(0.6)
    assert openai_call(http, **OPENAI_KEY).status_code == 200
    assert anthropic_call(http, **ANTHROPIC_KEY).status_code == 200
    assert gemini_call(http, **GEMINI_KEY).status_code == 200


def test_providers_refuse_schema_keywords_outside_their_dialect(http: httpx.Client) -> None:
    constrained = {**SCHEMA, "properties": {"answer": {"type": "string", "minLength": 1}}}
    refused = anthropic_call(http, constrained, **ANTHROPIC_KEY)
    assert refused.status_code == 400
    assert "'minLength' is not supported" in refused.json()["error"]["message"]
    open_object = {**SCHEMA, "additionalProperties": True}
    refused = anthropic_call(http, open_object, **ANTHROPIC_KEY)
    assert "'additionalProperties' must be explicitly set to false" in refused.text
    no_version = anthropic_call(http, **{"x-api-key": KEY})
    assert no_version.json()["error"]["message"] == "anthropic-version: header is required"

    refused = gemini_call(http, SCHEMA, **GEMINI_KEY)
    assert refused.status_code == 400
    assert 'Unknown name "additionalProperties"' in refused.json()["error"]["message"]


def test_scenarios_are_validated_reported_and_reset(http: httpx.Client) -> None:
    for bad in (
        {"latency": 5},
        {"error_rate": 2},
        {"latency_ms": "slow"},
        {"next_faults": ["gremlins"]},
    ):
        assert http.post("/_sandbox/scenario", json=bad).status_code == 422, bad

    changed = http.post(
        "/_sandbox/scenario", json={"latency_ms": 0, "next_faults": ["error", "timeout"]}
    ).json()
    assert (changed["latency_ms"], changed["next_faults"]) == (0, ["error", "timeout"])
    assert openai_call(http, **OPENAI_KEY).status_code == 500
    assert http.get("/_sandbox/scenario").json()["next_faults"] == ["timeout"]

    http.post("/_sandbox/reset").raise_for_status()
    restored = http.get("/_sandbox/scenario").json()
    assert (restored["latency_ms"], restored["next_faults"]) == (1, [])


def test_apollo_routes_are_served_when_their_module_exists(http: httpx.Client) -> None:
    has_apollo = importlib.util.find_spec("services.sandbox.apollo") is not None
    answered = http.post("/api/v1/mixed_companies/search", json={})
    assert (answered.status_code != 404) == has_apollo


def test_command_line_flags_set_every_fault() -> None:
    parser = argparse.ArgumentParser()
    add_sandbox_arguments(parser)
    args = parser.parse_args(
        [
            "--timeout-rate=0.1",
            "--hang-s=9",
            "--slow-trickle-rate=0.2",
            "--trickle-s=3",
            "--malformed-rate=0.3",
            "--wrong-schema-rate=0.4",
            "--rate-limit-storm-s=10",
            "--storm-retry-after-s=2",
            "--tokens-per-minute=5000",
            "--error-status=529",
            "--quota-exhausted",
        ]
    )
    config = config_from_args(args)
    assert (config.timeout_rate, config.hang_s) == (0.1, 9)
    assert (config.slow_trickle_rate, config.trickle_s) == (0.2, 3)
    assert (config.malformed_rate, config.wrong_schema_rate) == (0.3, 0.4)
    assert (config.rate_limit_storm_s, config.storm_retry_after_s) == (10, 2)
    assert (config.tokens_per_minute, config.error_status, config.quota_exhausted) == (
        5000,
        529,
        True,
    )
    with pytest.raises(ValueError, match="malformed_rate"):
        config_from_args(parser.parse_args(["--malformed-rate=1.5"]))


def test_a_storm_set_on_the_command_line_starts_with_the_process(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "services.sandbox", "--port", str(port)]
    command += ["--rate-limit-storm-s", "60", "--storm-retry-after-s", "3"]
    with (tmp_path / "sandbox.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            deadline = time.monotonic() + 15
            while True:
                try:
                    http.get("/healthz").raise_for_status()
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, (tmp_path / "sandbox.log").read_text()
                    time.sleep(0.05)
            limited = anthropic_call(http, **ANTHROPIC_KEY)
            assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
    finally:
        process.terminate()
        process.wait(timeout=10)
