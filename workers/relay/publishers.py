"""Publishers the relay hands claimed rows to: RabbitMQ (production) and in-process (embedded)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import dramatiq
import pika
import pika.exceptions
import structlog
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from shared.broker.messages import dramatiq_message_for_task, epoch_ms
from shared.broker.topology import declare_agent_queue, declare_events_exchange
from shared.db.models import OutboxKind
from workers.relay.claims import ClaimedRow

__all__ = [
    "InProcessBroker",
    "InProcessPublisher",
    "PublishOutcome",
    "Publisher",
    "RabbitmqPublisher",
    "describe_error",
]

logger = structlog.get_logger(__name__)

_JSON = "application/json"


@dataclass(frozen=True)
class PublishOutcome:
    """Which rows the broker confirmed, and why the others failed."""

    published: tuple[uuid.UUID, ...] = ()
    failed: Mapping[uuid.UUID, str] = field(default_factory=dict)


class Publisher(Protocol):
    def publish(self, rows: Sequence[ClaimedRow]) -> PublishOutcome:
        """Publish rows in order; never raises for broker trouble, reports it per row."""

    def close(self) -> None:
        """Release the connection, if any."""


def describe_error(exc: BaseException) -> str:
    """A one-line description of a failure, as stored in ``outbox.last_error``."""
    name, text = type(exc).__name__, str(exc) or repr(exc)
    # pika's messages already start with the class name.
    return text if text.startswith(name) else f"{name}: {text}"


def _headers(row: ClaimedRow) -> dict[str, Any] | None:
    return dict(row.headers) or None


class RabbitmqPublisher:
    """Publishes with publisher confirms and ``mandatory``: a row counts only once routed.

    One connection, opened lazily and dropped on any connection or channel error; the next
    call reconnects. Agent queues are declared once per connection.
    """

    def __init__(
        self,
        url: str,
        events_exchange: str,
        max_priority: int,
        *,
        blocked_timeout_s: float = 30.0,
    ) -> None:
        self._parameters = pika.URLParameters(url)
        if self._parameters.blocked_connection_timeout is None:
            # A broker under a resource alarm blocks publishers silently; give up instead
            # of sitting on claimed rows past their lease.
            self._parameters.blocked_connection_timeout = blocked_timeout_s
        self._events_exchange = events_exchange
        self._max_priority = max_priority
        self._link: tuple[BlockingConnection, BlockingChannel] | None = None
        self._declared_queues: set[str] = set()

    def publish(self, rows: Sequence[ClaimedRow]) -> PublishOutcome:
        """Publish each row and wait for its confirm; stop at the first connection failure."""
        published: list[uuid.UUID] = []
        failed: dict[uuid.UUID, str] = {}
        for index, row in enumerate(rows):
            try:
                if index == 0 or self._link is None:
                    channel = self._ensure_channel()
                self._publish_row(channel, row)
            except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
                failed[row.id] = describe_error(exc)
                # The queue may have been deleted: declare it again next time.
                self._declared_queues.discard(row.destination)
                continue
            except (pika.exceptions.AMQPError, OSError) as exc:
                error = describe_error(exc)
                logger.warning("relay.broker_error", error=error)
                self._drop()
                failed.update((rest.id, error) for rest in rows[index:])
                break
            published.append(row.id)
        return PublishOutcome(published=tuple(published), failed=failed)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._drop()

    def _ensure_channel(self) -> BlockingChannel:
        if self._link is not None:
            connection, channel = self._link
            try:
                # Notice a connection the broker closed while we were idle before using it.
                connection.process_data_events(time_limit=0)
            except (pika.exceptions.AMQPError, OSError) as exc:
                logger.info("relay.broker_reconnect", error=describe_error(exc))
            else:
                if channel.is_open:
                    return channel
            self._drop()
        connection = BlockingConnection(self._parameters)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            declare_events_exchange(channel, self._events_exchange)
        except BaseException:
            _close_quietly(connection)
            raise
        self._link = (connection, channel)
        self._declared_queues.clear()
        logger.info("relay.broker_connected")
        return channel

    def _publish_row(self, channel: BlockingChannel, row: ClaimedRow) -> None:
        if row.kind == OutboxKind.TASK:
            if row.destination not in self._declared_queues:
                declare_agent_queue(channel, row.destination, self._max_priority)
                self._declared_queues.add(row.destination)
            channel.basic_publish(
                exchange="",
                routing_key=row.destination,
                body=dramatiq_message_for_task(row).encode(),
                properties=pika.BasicProperties(
                    delivery_mode=2,
                    priority=row.priority,
                    message_id=str(row.message_id),
                    content_type=_JSON,
                    headers=_headers(row),
                ),
                mandatory=True,
            )
            return
        channel.basic_publish(
            exchange=self._events_exchange,
            routing_key=row.destination,
            body=json.dumps(row.payload, separators=(",", ":")).encode(),
            properties=pika.BasicProperties(
                delivery_mode=2,
                message_id=str(row.message_id),
                type=row.destination,
                content_type=_JSON,
                timestamp=epoch_ms(row.created_at) // 1000,
                headers=_headers(row),
            ),
            mandatory=True,
        )

    def _drop(self) -> None:
        link, self._link = self._link, None
        self._declared_queues.clear()
        if link is not None:
            _close_quietly(link[0])


def _close_quietly(connection: BlockingConnection) -> None:
    try:
        if connection.is_open:
            connection.close()
    except (pika.exceptions.AMQPError, OSError):
        # The connection is being thrown away; a failed close changes nothing.
        pass


class InProcessBroker(Protocol):
    """The part of a Dramatiq broker the in-process publisher needs (e.g. ``StubBroker``)."""

    def declare_queue(self, queue_name: str) -> None: ...

    def enqueue(
        self, message: dramatiq.Message[Any], *, delay: int | None = None
    ) -> dramatiq.Message[Any]: ...


class InProcessPublisher:
    """Embedded mode: tasks go to an in-process Dramatiq broker, events to a callback."""

    def __init__(self, broker: InProcessBroker, event_sink: Callable[[dict[str, Any]], None]):
        self._broker = broker
        self._event_sink = event_sink

    def publish(self, rows: Sequence[ClaimedRow]) -> PublishOutcome:
        """Hand every row over; a row whose hand-over raised is reported failed."""
        published: list[uuid.UUID] = []
        failed: dict[uuid.UUID, str] = {}
        for row in rows:
            try:
                if row.kind == OutboxKind.TASK:
                    self._broker.declare_queue(row.destination)
                    self._broker.enqueue(dramatiq_message_for_task(row))
                else:
                    self._event_sink(dict(row.payload))
            except Exception as exc:
                # Whatever the sink or broker raised, the row stays in the outbox for a retry.
                failed[row.id] = describe_error(exc)
                continue
            published.append(row.id)
        return PublishOutcome(published=tuple(published), failed=failed)

    def close(self) -> None:
        """Nothing to release: the broker belongs to the caller."""
