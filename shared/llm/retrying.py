"""Which failed attempts are tried again within one call, and after how long."""

from __future__ import annotations

import random
from collections.abc import Callable

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

from shared.errors import RateLimited, TransientError
from shared.llm.errors import ProviderRateLimited, ProviderResponseInvalid, ProviderUnavailable

__all__ = ["call_retrying"]

# A malformed or off-schema answer is asked for again once; twice in a row means the prompt
# or schema is at fault, and the caller's own retry policy decides what happens next.
_MAX_INVALID_ANSWERS = 2
# Backoff when the provider suggests no wait (the OpenAI SDK's curve): 0.5 s * 2^n, capped.
_BACKOFF_INITIAL_S = 0.5
_BACKOFF_MAX_S = 8.0
# Spread of waits the provider asked for, so throttled workers do not return in lockstep.
_SUGGESTED_WAIT_SPREAD = 0.1


def call_retrying(
    *,
    max_attempts: int,
    total_timeout_s: float,
    max_inline_wait_s: float,
    before_sleep: Callable[[RetryCallState], None],
) -> Retrying:
    """The retry loop of one call: transient failures again, within attempts and time budget."""
    return Retrying(
        retry=retry_if_exception(_RetryPolicy(max_inline_wait_s)),
        wait=_wait_s,
        # stop_before_delay also counts the coming wait, so the budget is never overrun.
        stop=stop_after_attempt(max_attempts) | stop_before_delay(total_timeout_s),
        before_sleep=before_sleep,
        reraise=True,
    )


class _RetryPolicy:
    """Which failures earn another attempt within one call."""

    def __init__(self, max_inline_wait_s: float) -> None:
        self._invalid_answers = 0
        self._max_inline_wait_s = max_inline_wait_s

    def __call__(self, error: BaseException) -> bool:
        if isinstance(error, ProviderRateLimited):
            # A long wait would hold a worker thread: raise instead, so the task is deferred.
            return (error.retry_after_s or 0.0) <= self._max_inline_wait_s
        if isinstance(error, RateLimited):
            # The gate already judged the wait too long to sleep here.
            return False
        if isinstance(error, ProviderResponseInvalid):
            self._invalid_answers += 1
            return self._invalid_answers < _MAX_INVALID_ANSWERS
        return isinstance(error, TransientError)


def _wait_s(retry_state: RetryCallState) -> float:
    """The provider's suggested wait if it gave one, else jittered exponential backoff."""
    error = retry_state.outcome.exception() if retry_state.outcome else None
    if isinstance(error, ProviderResponseInvalid):
        # The provider answered promptly, just not usefully: waiting would not change that.
        return 0.0
    if isinstance(error, ProviderRateLimited | ProviderUnavailable):
        suggested = error.retry_after_s
        if suggested is not None:
            return suggested * (1 + random.uniform(0, _SUGGESTED_WAIT_SPREAD))
    ceiling = min(_BACKOFF_INITIAL_S * 2.0 ** (retry_state.attempt_number - 1), _BACKOFF_MAX_S)
    return ceiling * (1 - 0.25 * random.random())
