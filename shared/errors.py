"""The one error tree of agentfleet.

::

    AgentfleetError
    ├── TransientError        retry with backoff (timeouts, connection errors, 5xx)
    │   └── RateLimited       defer without spending a retry (carries the delay)
    ├── PermanentError        fail the task at once, never retried
    │   ├── NotFound
    │   │   └── AgentNotFound  a task names an agent its tenant does not have: dead-lettered
    │   └── ProviderRejected  the provider refused a request that cannot succeed
    ├── InvalidMessage        a broker message that cannot be processed: dead-letter with reason
    └── Conflict              an illegal state transition or a clash with existing data
        ├── IllegalTransition
        ├── VersionMismatch   the record changed since the caller read it
        └── NotDecidable      a pending approval item that cannot be decided (expired, stale)
"""

from __future__ import annotations

__all__ = [
    "AgentNotFound",
    "AgentfleetError",
    "Conflict",
    "IllegalTransition",
    "InvalidMessage",
    "NotDecidable",
    "NotFound",
    "PermanentError",
    "ProviderRejected",
    "RateLimited",
    "TransientError",
    "VersionMismatch",
]


class AgentfleetError(Exception):
    """Base of every error raised on purpose by agentfleet code."""


class TransientError(AgentfleetError):
    """A failure that may succeed if tried again later."""


class RateLimited(TransientError):
    """Work held back by a limit; it is deferred, not failed, and spends no retry."""

    def __init__(self, message: str, *, delay_s: float) -> None:
        super().__init__(message)
        self.delay_s = delay_s


class PermanentError(AgentfleetError):
    """A failure that will not go away by retrying: the task fails at once."""


class NotFound(PermanentError):
    """A referenced record does not exist (or is not visible to the tenant)."""


class AgentNotFound(NotFound):
    """A task names an agent its tenant does not have (yet): the message is dead-lettered, so
    it can be replayed once the agent exists."""


class ProviderRejected(PermanentError):
    """A provider answered with an error that retrying cannot fix."""


class InvalidMessage(AgentfleetError):
    """A broker message that cannot be decoded or validated; it is dead-lettered."""

    def __init__(
        self,
        reason: str,
        *,
        task_id: str | None = None,
        tenant_id: str | None = None,
        kind: str = "invalid",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.task_id = task_id
        self.tenant_id = tenant_id
        self.kind = kind
        """A short, fixed name for the kind of problem (a metric label, never the reason)."""


class Conflict(AgentfleetError):
    """The request clashes with the current state of the data."""


class IllegalTransition(Conflict):
    """A lifecycle move that the state machine does not allow."""

    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(f"{entity} cannot move from {current!r} to {target!r}")
        self.entity = entity
        self.current = current
        self.target = target


class VersionMismatch(Conflict):
    """An optimistic version check failed: the record changed since the caller read it."""

    def __init__(self, entity: str, expected: int, current: int) -> None:
        super().__init__(
            f"{entity} is at version {current}, not the version {expected} the request was based on"
        )
        self.expected = expected
        self.current = current


class NotDecidable(Conflict):
    """A pending approval item that cannot be decided now; ``reason`` is ``expired`` or
    ``stale`` (the records behind it changed: refresh it first)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
