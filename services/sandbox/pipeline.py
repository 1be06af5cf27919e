"""The request flow every LLM wire format shares.

Key check → body validation → scenario faults (quota, storm, queued) → rate limits →
latency → server errors → hangs → the deterministic answer (maybe spoiled on purpose) →
maybe trickled out slowly. Each step's response is written by the provider's :class:`LlmWire`,
so every status and body has that provider's real shape; every request is recorded.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from fastapi import Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from services.sandbox.config import DRAFT_FAULTS, DraftFault, Fault
from services.sandbox.content import (
    JSON_REPLY,
    TEXT_REPLY,
    answer_json,
    estimate_tokens,
    malformed,
    off_schema,
    within_token_limit,
)
from services.sandbox.context import message_text
from services.sandbox.limits import RateLimitSnapshot, key_fingerprint
from services.sandbox.state import SandboxState

__all__ = ["Completion", "LlmCall", "LlmWire", "RateLimitCause", "serve_llm_request"]

_TRICKLE_CHUNKS = 20
_DISCONNECT_POLL_S = 0.05
# nginx's "client closed request": recorded when the client gave up during a hang.
_CLIENT_GONE = 499

RateLimitCause = Literal["requests", "tokens", "storm"]


@dataclass(frozen=True)
class LlmCall:
    """A validated request, in provider-neutral terms."""

    model: str | None
    messages: list[dict[str, Any]]
    """Role/content pairs in OpenAI's shape (what the content generator reads)."""
    schema: dict[str, Any] | None
    """The JSON Schema the answer must follow, if one was asked for."""
    json_mode: bool
    max_tokens: int | None

    def prompt_tokens(self) -> int:
        """The sandbox's token estimate for everything the request sent."""
        return estimate_tokens("\n".join(message_text(m) for m in self.messages))


@dataclass(frozen=True)
class Completion:
    """The answer's text and usage, ready to be put in the provider's success body."""

    text: str
    truncated: bool
    tokens_in: int
    tokens_out: int


class LlmWire(Protocol):
    """One provider's wire format: how it reads requests and writes every kind of answer."""

    provider: str

    def refuse_key(self, request: Request) -> Response | None:
        """The provider's error for a missing or wrong key, or None when the key will do."""

    def read(self, request: Request, body: Any) -> LlmCall | Response:
        """The validated call, or the provider's 400 for a body it would refuse."""

    def quota_exhausted(self, call: LlmCall) -> Response:
        """The no-retry 429 for a spent quota or spend limit."""

    def rate_limited(
        self, call: LlmCall, cause: RateLimitCause, wait_s: float, limits: RateLimitSnapshot
    ) -> Response:
        """A 429 whose retry hint says ``wait_s``."""

    def server_error(self, status: int) -> Response:
        """The provider's body for a 5xx of ``status``."""

    def success(
        self, call: LlmCall, completion: Completion, limits: RateLimitSnapshot
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The success body and headers."""


async def serve_llm_request(request: Request, state: SandboxState, wire: LlmWire) -> Response:
    """Answer one LLM request as ``wire``'s provider would, and record it."""
    received_at = datetime.now(UTC).isoformat()
    received_mono = time.monotonic()
    response, model = await _respond(request, state, wire)
    state.log.record(
        path=request.url.path,
        provider=wire.provider,
        received_at=received_at,
        received_mono=received_mono,
        model=model,
        status=response.status_code,
        key_fingerprint=_presented_key_fingerprint(request),
    )
    return response


def _presented_key_fingerprint(request: Request) -> str | None:
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    presented = (
        (bearer if scheme.lower() == "bearer" else "")
        or request.headers.get("x-api-key", "")
        or request.headers.get("x-goog-api-key", "")
    ).strip()
    return key_fingerprint(presented) if presented else None


async def _respond(
    request: Request, state: SandboxState, wire: LlmWire
) -> tuple[Response, str | None]:
    refused = wire.refuse_key(request)
    if refused is not None:
        return refused, None
    try:
        body = json.loads(await request.body())
    except ValueError:
        body = None
    call = wire.read(request, body)
    if isinstance(call, Response):
        return call, None
    config = state.config
    fault = state.take_fault()
    if fault == "quota" or config.quota_exhausted:
        return wire.quota_exhausted(call), call.model
    limiter = state.limits(wire.provider)
    storm_s = state.storm_remaining_s()
    if fault == "rate_limit" or storm_s > 0:
        return wire.rate_limited(
            call, "storm", config.storm_retry_after_s, limiter.snapshot()
        ), call.model
    spent = limiter.admit(call.prompt_tokens() + (call.max_tokens or 0))
    if spent is not None:
        cause, wait_s = spent
        return wire.rate_limited(call, cause, wait_s, limiter.snapshot()), call.model
    if config.latency_ms > 0:
        await asyncio.sleep(config.latency_ms / 1000)
    if fault == "error" or state.roll(config.error_rate):
        return wire.server_error(config.error_status), call.model
    if (fault == "timeout" or state.roll(config.timeout_rate)) and not await hang(
        request, config.hang_s
    ):
        return Response(status_code=_CLIENT_GONE), call.model
    completion = _complete(call, state, fault)
    payload, headers = wire.success(call, completion, limiter.snapshot())
    if fault == "trickle" or state.roll(config.slow_trickle_rate):
        return _trickled(payload, headers, config.trickle_s), call.model
    return JSONResponse(payload, headers=headers), call.model


def _complete(call: LlmCall, state: SandboxState, fault: Fault | None) -> Completion:
    config = state.config
    if call.schema is not None:
        text = answer_json(
            call.messages, call.schema, seed=config.seed, spoil=_draft_fault(state, fault)
        )
        if fault == "malformed" or state.roll(config.malformed_rate):
            text = malformed(text)
        elif fault == "wrong_schema" or state.roll(config.wrong_schema_rate):
            text = off_schema(call.schema)
    else:
        text = JSON_REPLY if call.json_mode else TEXT_REPLY
    text, truncated = within_token_limit(text, call.max_tokens)
    return Completion(text, truncated, call.prompt_tokens(), estimate_tokens(text))


def _draft_fault(state: SandboxState, fault: Fault | None) -> DraftFault | None:
    """The content fault for this answer: the queued one, else one drawn by its rate."""
    for kind in DRAFT_FAULTS:
        if fault == kind:
            return kind
    config = state.config
    rates: dict[DraftFault, float] = {
        "invented_fact": config.invented_fact_rate,
        "placeholder": config.placeholder_rate,
        "too_long": config.too_long_rate,
    }
    for kind, rate in rates.items():
        if state.roll(rate):
            return kind
    return None


async def hang(request: Request, seconds: float) -> bool:
    """Wait ``seconds``; False as soon as the client gives up (so a hang ends with it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return False
        await asyncio.sleep(min(_DISCONNECT_POLL_S, max(deadline - time.monotonic(), 0)))
    return True


def _trickled(payload: dict[str, Any], headers: dict[str, str], seconds: float) -> Response:
    """The body sent in small pieces spread over ``seconds``."""
    data = json.dumps(payload).encode()
    size = max(1, -(-len(data) // _TRICKLE_CHUNKS))
    pause_s = seconds / _TRICKLE_CHUNKS

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(data), size):
            if start:
                await asyncio.sleep(pause_s)
            yield data[start : start + size]

    return StreamingResponse(pieces(), media_type="application/json", headers=headers)
