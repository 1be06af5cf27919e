"""Apollo failures, placed in the shared error tree (:mod:`shared.errors`).

Every message names the provider (``apollo``), the HTTP status (or ``no response``), the
reason and the endpoint; none ever contains the API key.

* 401 (plain text), 403 (``API_INACCESSIBLE``, paid-only endpoints), 404 and 422 (invalid
  parameters) are :class:`ApolloRejected`: never retried.
* 429 is :class:`ApolloRateLimited`: retried inline when the suggested wait is short,
  otherwise raised so the task is deferred without spending a retry.
* 5xx, 408, timeouts and connection errors are :class:`ApolloUnavailable`: retried with
  backoff, then raised for the task's own retry policy.
* A 2xx whose body is not the JSON Apollo documents is :class:`ApolloResponseInvalid`, a
  permanent error: the call may already have spent credits, and asking again would spend
  them again for what is most likely a changed response format, so the task fails loudly.
"""

from __future__ import annotations

from shared.errors import PermanentError, ProviderRejected, RateLimited, TransientError
from shared.llm.errors import describe_failure

__all__ = [
    "PROVIDER",
    "ApolloRateLimited",
    "ApolloRejected",
    "ApolloResponseInvalid",
    "ApolloUnavailable",
]

PROVIDER = "apollo"


def _describe(status: int | None, reason: str, endpoint: str) -> str:
    return describe_failure(PROVIDER, status, f"{reason} ({endpoint})")


class ApolloRejected(ProviderRejected):
    """Apollo refused a request that cannot succeed as sent (bad key, plan, parameters)."""

    def __init__(self, *, status: int, reason: str, endpoint: str) -> None:
        super().__init__(_describe(status, reason, endpoint))
        self.provider = PROVIDER
        self.status = status
        self.reason = reason
        self.endpoint = endpoint


class ApolloUnavailable(TransientError):
    """A timeout, a connection error or a 5xx: Apollo may answer if asked again."""

    def __init__(
        self,
        *,
        status: int | None,
        reason: str,
        endpoint: str,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(_describe(status, reason, endpoint))
        self.provider = PROVIDER
        self.status = status
        self.reason = reason
        self.endpoint = endpoint
        self.retry_after_s = retry_after_s


class ApolloRateLimited(RateLimited):
    """A 429: a minute, hour or day window is spent; ``delay_s`` is when to ask again."""

    def __init__(
        self,
        *,
        reason: str,
        endpoint: str,
        retry_after_s: float | None,
        fallback_delay_s: float,
    ) -> None:
        delay_s = retry_after_s if retry_after_s is not None else fallback_delay_s
        super().__init__(_describe(429, reason, endpoint), delay_s=delay_s)
        self.provider = PROVIDER
        self.status = 429
        self.reason = reason
        self.endpoint = endpoint
        self.retry_after_s = retry_after_s


class ApolloResponseInvalid(PermanentError):
    """Apollo answered with success, but not with a body this client can read."""

    def __init__(self, *, status: int, reason: str, endpoint: str) -> None:
        super().__init__(_describe(status, reason, endpoint))
        self.provider = PROVIDER
        self.status = status
        self.reason = reason
        self.endpoint = endpoint
