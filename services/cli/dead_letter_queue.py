"""Reading a ``.XQ`` without losing anything: messages are held unacknowledged while looked at,
and every one not explicitly removed goes back to the queue when the reader closes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import dramatiq
from dramatiq.errors import DecodeError

from services.cli.broker import queue_depths
from shared.broker.topology import DEAD_LETTER_REASON_HEADER, xq_name

__all__ = ["DeadLetter", "DeadLetterQueue"]


@dataclass(frozen=True)
class DeadLetter:
    """One parked message of a work queue, and what could be read from it."""

    queue: str
    delivery_tag: int
    message_id: str | None
    reason: str | None
    argument: object
    """The Dramatiq message's single argument (the task envelope, for a task), else None."""
    problem: str | None
    """Why the body is not a Dramatiq message with one argument, if it is not."""

    def field(self, name: str) -> str | None:
        """A top-level field of the argument as text, whether or not the envelope is valid."""
        argument = self.argument
        if isinstance(argument, str):
            try:
                argument = json.loads(argument)
            except ValueError:
                return None
        if not isinstance(argument, dict) or argument.get(name) is None:
            return None
        return str(argument[name])

    def summary(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "queue": self.queue,
            "task_id": self.field("task_id"),
            "tenant_id": self.field("tenant_id"),
            "task_type": self.field("task_type"),
            "reason": self.reason,
        }


class DeadLetterQueue:
    """``with DeadLetterQueue(connection, "outreach") as xq: for letter in xq.read(): ...``

    Messages read stay delivered to this reader, so one pass never sees a message twice;
    :meth:`remove` acknowledges one, and closing returns all others with a requeue.
    """

    def __init__(self, connection: Any, queue: str) -> None:
        self.queue = queue
        self.name = xq_name(queue)
        self._connection = connection
        self._channel: Any = None
        self.depth = 0
        """Messages on the queue not yet read by this reader (as of entry)."""
        self._last_tag = 0
        self._outstanding: set[int] = set()

    def __enter__(self) -> DeadLetterQueue:
        depths = queue_depths(self._connection, [self.name])
        if self.name in depths:
            self.depth = depths[self.name][0]
            self._channel = self._connection.channel()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def read(self, limit: int | None = None) -> Iterator[DeadLetter]:
        """Up to ``limit`` messages, one at a time (never more than the queue held on entry);
        each stays held here until removed or the reader closes."""
        wanted = self.depth if limit is None else min(limit, self.depth)
        for _ in range(wanted):
            if self._channel is None:
                return
            method, properties, body = self._channel.basic_get(self.name, auto_ack=False)
            if method is None:
                return
            self.depth -= 1
            self._last_tag = method.delivery_tag
            self._outstanding.add(method.delivery_tag)
            yield self._letter(method.delivery_tag, properties, body)

    def remove(self, letter: DeadLetter) -> None:
        """Acknowledge ``letter``: it leaves the queue for good."""
        self._channel.basic_ack(letter.delivery_tag)
        self._outstanding.discard(letter.delivery_tag)

    def close(self) -> None:
        """Requeue every message read and not removed, then close the channel."""
        channel, self._channel = self._channel, None
        if channel is None or not channel.is_open:
            return
        if self._outstanding:
            channel.basic_nack(delivery_tag=self._last_tag, multiple=True, requeue=True)
            self._outstanding.clear()
        channel.close()

    def _letter(self, tag: int, properties: Any, body: bytes) -> DeadLetter:
        headers = dict(getattr(properties, "headers", None) or {})
        raw_reason = headers.get(DEAD_LETTER_REASON_HEADER)
        if isinstance(raw_reason, bytes):
            raw_reason = raw_reason.decode(errors="replace")
        reason = None if raw_reason is None else str(raw_reason)
        message_id = getattr(properties, "message_id", None)
        try:
            message = dramatiq.Message.decode(body)
        except DecodeError as exc:
            problem = f"body is not a Dramatiq message ({exc.__cause__ or exc})"
            return DeadLetter(self.queue, tag, message_id, reason, None, problem)
        if len(message.args) != 1 or message.kwargs:
            problem = "the message does not carry exactly one argument"
            return DeadLetter(
                self.queue, tag, message_id or message.message_id, reason, None, problem
            )
        return DeadLetter(
            self.queue, tag, message_id or message.message_id, reason, message.args[0], None
        )
