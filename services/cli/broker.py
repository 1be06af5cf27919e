"""The broker as the ops commands see it: the work queues, their depths, a connection."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pika
from pika.exceptions import AMQPError

from services.cli.output import CommandError
from shared.agent_types import canonical_agent_type
from shared.metrics.queue_depth import WORK_QUEUES, QueueDepths, read_queue_depths
from shared.sending.queue import SENDER_QUEUE

__all__ = ["WORK_QUEUES", "broker_connection", "queue_depths", "work_queue"]


def work_queue(name: str) -> str:
    """The work queue a name means: an agent type, an alias, ``sender``, or one of their
    ``.XQ`` / ``.DQ`` names; CommandError (exit 2) for anything else."""
    base = name.removesuffix(".XQ").removesuffix(".DQ")
    if base == SENDER_QUEUE:
        return base
    try:
        return canonical_agent_type(base).value
    except ValueError:
        known = ", ".join(WORK_QUEUES)
        raise CommandError(f"unknown queue {name!r} (known: {known})", exit_code=2) from None


@contextmanager
def broker_connection(broker_url: str) -> Iterator[Any]:
    """A blocking pika connection, closed afterwards; CommandError if the broker is unreachable."""
    try:
        connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    except AMQPError as exc:
        raise CommandError(f"cannot reach the broker: {exc!r}") from None
    try:
        yield connection
    finally:
        if connection.is_open:
            connection.close()


def queue_depths(connection: Any, names: Iterable[str]) -> QueueDepths:
    """(ready messages, consumers) of each queue that exists, by passive declares, which never
    create one; a queue missing from the answer does not exist yet."""
    logger = logging.getLogger("pika.channel")
    level = logger.level
    # pika warns about each channel a passive declare of a missing queue closes: here that is
    # an answer, not a problem.
    logger.setLevel(logging.ERROR)
    try:
        return read_queue_depths(connection, names)
    finally:
        logger.setLevel(level)
