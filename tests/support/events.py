"""A test subscriber on the ``agentfleet.events`` topic exchange."""

from __future__ import annotations

import json
import time
from typing import Any

import pika


class EventTap:
    """An exclusive queue bound to every routing key; :meth:`collect` reads what arrived."""

    def __init__(self, broker_url: str, exchange: str) -> None:
        self._connection = pika.BlockingConnection(pika.URLParameters(broker_url))
        self._channel = self._connection.channel()
        declared = self._channel.queue_declare("", exclusive=True, auto_delete=True)
        self._queue = declared.method.queue
        self._channel.queue_bind(self._queue, exchange, routing_key="#")
        self.events: list[dict[str, Any]] = []

    def _poll(self) -> None:
        while True:
            method, properties, body = self._channel.basic_get(self._queue, auto_ack=True)
            if method is None:
                return
            event = json.loads(body)
            assert method.routing_key == event["event_type"]
            assert properties.message_id == event["event_id"]
            self.events.append(event)

    def about_task(self, task_id: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e["aggregate_id"] == task_id or e["payload"].get("task_id") == task_id
        ]

    def wait_for_task_events(
        self, task_id: str, expected: set[str], timeout_s: float = 30
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while True:
            self._poll()
            seen = self.about_task(task_id)
            if expected <= {e["event_type"] for e in seen} or time.monotonic() > deadline:
                return seen
            self._connection.sleep(0.1)

    def close(self) -> None:
        if self._connection.is_open:
            self._connection.close()
