"""The real LLM client against the sandbox provider running as its own process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.sandbox import SandboxConfig, start_sandbox_in_thread
from shared.errors import ProviderRejected, RateLimited
from shared.llm import ChatCompletionsClient, ChatMessage, ProviderUnavailable

ClientFactory = Callable[..., ChatCompletionsClient]

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 15.0
MAX_WORDS = 120

FACT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["fact", "source"],
    "properties": {"fact": {"type": "string"}, "source": {"type": "string"}},
}
DRAFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["subject", "body", "reasoning", "key_points", "facts_used"],
    "properties": {
        "subject": {"type": "string"},
        "body": {"type": "string"},
        "reasoning": {"type": "string"},
        "key_points": {"type": "array", "items": {"type": "string"}},
        "facts_used": {"type": "array", "items": {"$ref": "#/$defs/Fact"}},
    },
    "$defs": {"Fact": FACT},
}
CONTEXT = {
    "contact": {
        "first_name": "Dana",
        "last_name": "Reyes",
        "title": "VP of Sales",
        "email": "dana@acme-robotics.example",
        "company": "Acme Robotics",
    },
    "account": {
        "name": "Acme Robotics",
        "industry": "industrial automation",
        "employee_count": 420,
        "location": "Austin, TX",
        "technologies": ["Salesforce", "HubSpot"],
    },
    "opportunity": {
        "kind": "event",
        "title": "Automate 2026",
        "description": "The largest automation trade show in North America.",
        "event_date": "2026-06-22",
        "location": "Detroit, MI",
    },
    "history": [],
    "channel": "email",
    "tone": "professional",
    "max_words": MAX_WORDS,
}


class SandboxProcess:
    """A sandbox provider started with ``python -m services.sandbox`` on a free port."""

    def __init__(self, log_path: Path, *options: str) -> None:
        self.port = _free_port()
        self.root_url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root_url}/v1"
        self._log = log_path.open("wb")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "services.sandbox", "--port", str(self.port), *options],
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._log_path = log_path

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.root_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sandbox did not become healthy:\n{self._log_path.read_text()}")

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    process = SandboxProcess(tmp_path_factory.mktemp("sandbox") / "sandbox.log")
    process.wait_until_healthy()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def limited_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    log_path = tmp_path_factory.mktemp("limited-sandbox") / "sandbox.log"
    process = SandboxProcess(log_path, "--requests-per-minute", "2")
    process.wait_until_healthy()
    yield process
    process.stop()


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    clients: list[ChatCompletionsClient] = []

    def make(base_url: str, **overrides: Any) -> ChatCompletionsClient:
        options: dict[str, Any] = {
            "api_key": "sandbox-key",
            "model": "gpt-4o-mini",
            "connect_timeout_s": 2.0,
            "read_timeout_s": 5.0,
            "total_timeout_s": 10.0,
            "max_attempts": 3,
            **overrides,
        }
        client = ChatCompletionsClient(base_url=base_url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def draft_messages(context: dict[str, Any]) -> list[ChatMessage]:
    prompt = f"Write the outreach message.\n<context>\n{json.dumps(context)}\n</context>"
    return [
        ChatMessage("system", "You write concise B2B sales emails."),
        ChatMessage("user", prompt),
    ]


def test_draft_cites_the_context_it_was_given(
    sandbox: SandboxProcess, make_client: ClientFactory
) -> None:
    client = make_client(sandbox.base_url)
    result = client.complete_json(
        draft_messages(CONTEXT), schema_name="outreach_draft", schema=DRAFT_SCHEMA
    )

    draft = result.data
    assert draft["body"].startswith(("Hello Dana,", "Dear Dana,"))
    for cited in ("VP of Sales", "Acme Robotics", "Automate 2026", "Detroit, MI", "June 22, 2026"):
        assert cited in draft["body"]
    assert "[" not in draft["body"]
    assert len(draft["body"].split()) <= MAX_WORDS
    assert draft["subject"]
    assert draft["reasoning"]
    assert draft["key_points"]
    sources = {fact["source"] for fact in draft["facts_used"]}
    assert {
        "contact.first_name",
        "contact.title",
        "contact.company",
        "opportunity.title",
        "opportunity.event_date",
        "opportunity.location",
        "account.industry",
    } <= sources
    assert result.tokens_in > 0
    assert result.tokens_out > 0
    assert result.request_id is not None
    assert result.request_id.startswith("req_")


def test_same_request_gets_the_same_answer(
    sandbox: SandboxProcess, make_client: ClientFactory
) -> None:
    client = make_client(sandbox.base_url)
    linkedin = {**CONTEXT, "channel": "linkedin", "tone": "casual", "max_words": 60}

    def ask() -> dict[str, Any]:
        result = client.complete_json(
            draft_messages(linkedin), schema_name="outreach_draft", schema=DRAFT_SCHEMA
        )
        return result.data

    first = ask()
    assert ask() == first
    assert first["body"].startswith("Hey Dana,")
    assert len(first["body"].split()) <= 60


def test_other_schemas_and_missing_context_still_validate(
    sandbox: SandboxProcess, make_client: ClientFactory
) -> None:
    client = make_client(sandbox.base_url)
    score_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["score", "tier", "explanation", "signals"],
        "properties": {
            "score": {"type": "integer", "minimum": 0, "maximum": 100},
            "tier": {"type": "string", "enum": ["hot", "warm", "cold"]},
            "explanation": {"type": "string"},
            "signals": {"type": "array", "items": {"type": "string"}},
        },
    }
    score = client.complete_json(
        [ChatMessage("user", "Score this account.")], schema_name="score", schema=score_schema
    )
    assert score.data["tier"] == "hot"
    assert 0 <= score.data["score"] <= 100

    generic = client.complete_json(
        [ChatMessage("user", "No context here.")], schema_name="draft", schema=DRAFT_SCHEMA
    )
    assert generic.data["body"]
    assert generic.data["facts_used"] == []


def test_requests_are_recorded_and_can_be_reset(
    sandbox: SandboxProcess, make_client: ClientFactory
) -> None:
    assert httpx.post(f"{sandbox.root_url}/_sandbox/reset").status_code == 200
    client = make_client(sandbox.base_url, model="gpt-recorded")
    for _ in range(3):
        client.complete_json(
            draft_messages(CONTEXT), schema_name="outreach_draft", schema=DRAFT_SCHEMA
        )

    recorded = httpx.get(f"{sandbox.root_url}/_sandbox/requests").json()
    assert recorded["count"] == 3
    assert [r["model"] for r in recorded["requests"]] == ["gpt-recorded"] * 3
    assert {r["path"] for r in recorded["requests"]} == {"/v1/chat/completions"}


def test_answer_cut_at_max_tokens_is_rejected(
    sandbox: SandboxProcess, make_client: ClientFactory
) -> None:
    client = make_client(sandbox.base_url)
    with pytest.raises(ProviderRejected, match="finish_reason=length"):
        client.complete_json(
            draft_messages(CONTEXT),
            schema_name="outreach_draft",
            schema=DRAFT_SCHEMA,
            max_tokens=20,
        )


def test_missing_api_key_gets_an_openai_401(sandbox: SandboxProcess) -> None:
    response = httpx.post(
        f"{sandbox.base_url}/chat/completions", json={"model": "m", "messages": []}
    )
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_rate_limit_answers_429_and_the_client_raises_rate_limited(
    limited_sandbox: SandboxProcess, make_client: ClientFactory
) -> None:
    client = make_client(limited_sandbox.base_url, total_timeout_s=1.0)
    for _ in range(2):
        client.complete_json(
            draft_messages(CONTEXT), schema_name="outreach_draft", schema=DRAFT_SCHEMA
        )

    with pytest.raises(RateLimited) as raised:
        client.complete_json(
            draft_messages(CONTEXT), schema_name="outreach_draft", schema=DRAFT_SCHEMA
        )
    assert 1.0 < raised.value.delay_s <= 30.0
    assert "openai: status 429: rate_limit_exceeded" in str(raised.value)

    response = httpx.post(
        f"{limited_sandbox.base_url}/chat/completions",
        headers={"Authorization": "Bearer sandbox-key"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
    assert response.json()["error"]["type"] == "requests"
    assert response.headers["x-ratelimit-limit-requests"] == "2"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert response.headers["x-ratelimit-reset-requests"].endswith("s")
    assert int(response.headers["retry-after"]) >= 1
    recorded = httpx.get(f"{limited_sandbox.root_url}/_sandbox/requests").json()
    assert recorded["count"] == 4


def test_in_thread_sandbox_starts_fast_and_serves(make_client: ClientFactory) -> None:
    started = time.monotonic()
    with start_sandbox_in_thread(SandboxConfig(latency_ms=5)) as handle:
        assert time.monotonic() - started < 1.0
        result = make_client(handle.base_url).complete_json(
            draft_messages(CONTEXT), schema_name="outreach_draft", schema=DRAFT_SCHEMA
        )
        assert "Dana" in result.data["body"]


def test_injected_server_errors_are_retried_then_reported(make_client: ClientFactory) -> None:
    with start_sandbox_in_thread(SandboxConfig(error_rate=1.0)) as handle:
        client = make_client(handle.base_url, max_attempts=2)
        with pytest.raises(ProviderUnavailable, match="openai: status 500: server_error"):
            client.complete_json(
                draft_messages(CONTEXT), schema_name="outreach_draft", schema=DRAFT_SCHEMA
            )
        recorded = httpx.get(handle.base_url.removesuffix("/v1") + "/_sandbox/requests").json()
        assert recorded["count"] == 2
