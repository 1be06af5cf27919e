"""What every LLM client shares: the gate, the HTTP attempt, retries and the time budget.

A provider client subclasses :class:`HttpLlmClient` and supplies its wire format: auth
headers, the request, how error responses map onto the error tree, and where the answer and
usage sit in a successful body. One instance per worker thread: it owns an ``httpx.Client``
(connection pool included), which must be closed. The transport can be injected, so the same
code runs against the sandbox provider, ``httpx.MockTransport`` in unit tests, or the real API.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Self

import httpx
import structlog
from jsonschema import Draft202012Validator
from tenacity import RetryCallState

from shared.llm.answers import decode_body, validate_answer
from shared.llm.errors import (
    ProviderRateLimited,
    ProviderRequestRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from shared.llm.exchange import post_within_deadline
from shared.llm.messages import ChatMessage, LlmResult
from shared.llm.retrying import call_retrying
from shared.llm.wire import WireAnswer, WireRequest, provider_endpoint
from shared.ratelimit.gate import CallGate, CallOutcome, OpenGate
from shared.settings import Settings

__all__ = ["HttpLlmClient"]

logger = structlog.get_logger(__name__)

_MIN_ATTEMPT_TIMEOUT_S = 0.05
_POOL_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30)
_CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class _Call:
    request: WireRequest
    schema_name: str
    validator: Draft202012Validator
    max_tokens: int
    estimated_tokens: int
    deadline: float


class HttpLlmClient:
    """The request loop of a provider client; subclasses supply the wire format."""

    provider: str = ""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        connect_timeout_s: float,
        read_timeout_s: float,
        total_timeout_s: float,
        max_attempts: int,
        max_inline_wait_s: float = 5.0,
        gate: CallGate | None = None,
        credential_key: str = "platform",
        tenant_id: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(connect_timeout_s, read_timeout_s, total_timeout_s) <= 0:
            raise ValueError("timeouts must be positive")
        self._api_key = api_key
        self._model = model
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._total_timeout_s = total_timeout_s
        self._max_attempts = max_attempts
        self._max_inline_wait_s = max_inline_wait_s
        self._gate: CallGate = gate if gate is not None else OpenGate()
        self._credential_key = credential_key
        self._tenant_id = tenant_id
        self._http = httpx.Client(
            base_url=base_url,
            headers=self._auth_headers(api_key),
            timeout=self._timeout_within(total_timeout_s),
            limits=_POOL_LIMITS,
            transport=transport,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        api_key: str | None = None,
        model: str | None = None,
        gate: CallGate | None = None,
        credential_key: str = "platform",
        tenant_id: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> Self:
        """A client for this class's provider configured from the settings; ``api_key``
        defaults to the platform key."""
        base_url, platform_key = provider_endpoint(settings, cls.provider)
        return cls(
            base_url=base_url,
            api_key=api_key if api_key is not None else platform_key.get_secret_value(),
            model=model or settings.llm_model_for(cls.provider),
            connect_timeout_s=settings.llm_connect_timeout_s,
            read_timeout_s=settings.llm_read_timeout_s,
            total_timeout_s=settings.llm_total_timeout_s,
            max_attempts=settings.llm_max_attempts,
            max_inline_wait_s=settings.llm_max_inline_wait_s,
            gate=gate,
            credential_key=credential_key,
            tenant_id=tenant_id,
            transport=transport,
        )

    @property
    def model(self) -> str:
        """The model requested by default."""
        return self._model

    def complete_json(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema_name: str,
        schema: dict[str, Any],
        temperature: float = 0.4,
        max_tokens: int = 800,
    ) -> LlmResult:
        """Ask for an answer that is a JSON object valid against ``schema``.

        Raises :class:`~shared.errors.RateLimited` (with the provider's suggested delay),
        another :class:`~shared.errors.TransientError` when retries or the total time budget
        run out, or :class:`~shared.errors.ProviderRejected` for requests that cannot succeed.
        """
        request = self._wire_request(
            messages,
            schema_name=schema_name,
            schema=schema,
            temperature=temperature,
            max_tokens=max_tokens,
        )
        characters = sum(len(message.content) for message in messages)
        call = _Call(
            request=request,
            schema_name=schema_name,
            validator=Draft202012Validator(schema),
            max_tokens=max_tokens,
            estimated_tokens=characters // _CHARS_PER_TOKEN + max_tokens,
            deadline=time.monotonic() + self._total_timeout_s,
        )
        retrying = call_retrying(
            max_attempts=self._max_attempts,
            total_timeout_s=self._total_timeout_s,
            max_inline_wait_s=self._max_inline_wait_s,
            before_sleep=self._log_retry,
        )
        result: LlmResult = retrying(self._attempt, call)
        return result

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # The wire format, supplied by each provider's subclass.

    def _auth_headers(self, api_key: str) -> dict[str, str]:
        raise NotImplementedError

    def _wire_request(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema_name: str,
        schema: dict[str, Any],
        temperature: float,
        max_tokens: int,
    ) -> WireRequest:
        raise NotImplementedError

    def _raise_for_status(self, response: httpx.Response) -> None:
        """Raise the error-tree exception an unsuccessful response stands for (no-op on 2xx)."""
        raise NotImplementedError

    def _usage(self, body: dict[str, Any]) -> tuple[int, int]:
        """Input and output tokens the provider reports in a successful body."""
        raise NotImplementedError

    def _answer(
        self, body: dict[str, Any], response: httpx.Response, max_tokens: int
    ) -> WireAnswer:
        """The model's text; raises for refusals, cut-off answers and missing content."""
        raise NotImplementedError

    def _rejected(self, response: httpx.Response, reason: str) -> ProviderRequestRejected:
        """A successful response that still refuses (refusal, cut-off): not worth retrying."""
        return ProviderRequestRejected(
            provider=self.provider, status=response.status_code, reason=reason
        )

    def _invalid(self, response: httpx.Response, reason: str) -> ProviderResponseInvalid:
        """A successful response whose shape is not the provider's: asked for once more."""
        return ProviderResponseInvalid(
            provider=self.provider, status=response.status_code, reason=reason
        )

    # The request loop.

    def _attempt(self, call: _Call) -> LlmResult:
        permit = self._gate.acquire(
            provider=self.provider,
            credential_key=self._credential_key,
            tenant_id=self._tenant_id,
            estimated_tokens=call.estimated_tokens,
        )
        outcome = CallOutcome(status=None, model=self._model)
        try:
            remaining_s = max(call.deadline - time.monotonic(), _MIN_ATTEMPT_TIMEOUT_S)
            response, latency_ms = post_within_deadline(
                self._http,
                call.request.path,
                call.request.body,
                timeout=self._timeout_within(remaining_s),
                deadline=call.deadline,
                provider=self.provider,
                secret=self._api_key,
            )
            status = response.status_code
            outcome = CallOutcome(status=status, headers=response.headers, model=self._model)
            self._raise_for_status(response)
            body = decode_body(response, provider=self.provider)
            tokens_in, tokens_out = self._usage(body)
            outcome = replace(outcome, tokens_used=tokens_in + tokens_out)
            answer = self._answer(body, response, call.max_tokens)
            data = validate_answer(
                answer.text,
                provider=self.provider,
                status=status,
                schema_name=call.schema_name,
                validator=call.validator,
            )
        except (ProviderRateLimited, ProviderUnavailable) as error:
            outcome = replace(outcome, retry_after_s=error.retry_after_s)
            raise
        finally:
            self._gate.release(permit, outcome)
        return LlmResult(
            data=data,
            model=answer.model or self._model,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_ms=latency_ms,
            request_id=answer.request_id,
        )

    def _timeout_within(self, budget_s: float) -> httpx.Timeout:
        """The configured timeouts, none longer than what is left of the call's budget."""
        connect_s = min(self._connect_timeout_s, budget_s)
        read_s = min(self._read_timeout_s, budget_s)
        return httpx.Timeout(connect=connect_s, read=read_s, write=read_s, pool=connect_s)

    def _log_retry(self, retry_state: RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        logger.warning(
            "provider.retry",
            provider=self.provider,
            model=self._model,
            tenant_id=self._tenant_id,
            attempt=retry_state.attempt_number,
            wait_s=round(retry_state.upcoming_sleep, 3),
            error=type(error).__name__,
            status=getattr(error, "status", None),
        )
