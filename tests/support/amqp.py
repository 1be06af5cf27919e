"""Talking to RabbitMQ the way another service would: plain pika, hand-built JSON."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pika

from services.demo.seed import SeededTarget
from shared.broker.topology import declare_agent_queue
from shared.tenancy import CreatedKey


def task_envelope(tenant: CreatedKey, target: SeededTarget, **extra: Any) -> dict[str, Any]:
    """An outreach task envelope for ``target``, as another service would write it."""
    return {
        "schema_version": 1,
        "task_id": str(uuid.uuid4()),
        "tenant_id": str(tenant.tenant_id),
        "agent_type": "outreach",
        "task_type": "draft_outreach",
        "priority": "medium",
        "input": {
            "contact_id": str(target.contact_id),
            "opportunity_id": str(target.opportunity_id),
        },
        **extra,
    }


def dramatiq_body(
    envelope: Any, *, queue: str = "outreach", message_id: str | None = None
) -> bytes:
    """A Dramatiq message carrying ``envelope`` as its single argument."""
    return json.dumps(
        {
            "queue_name": queue,
            "actor_name": queue,
            "args": [envelope],
            "kwargs": {},
            "options": {},
            "message_id": message_id or str(uuid.uuid4()),
            "message_timestamp": int(time.time() * 1000),
        }
    ).encode()


def publish(broker_url: str, queue: str, bodies: list[bytes], *, max_priority: int = 4) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        declare_agent_queue(channel, queue, max_priority)
        channel.confirm_delivery()
        for body in bodies:
            channel.basic_publish(
                exchange="",
                routing_key=queue,
                body=body,
                properties=pika.BasicProperties(delivery_mode=2, content_type="application/json"),
                mandatory=True,
            )
    finally:
        connection.close()


def drain(
    broker_url: str, queue: str, *, timeout_s: float = 10, expect: int = 1
) -> list[tuple[bytes, dict[str, Any]]]:
    """Take up to ``expect`` messages off ``queue`` (waiting up to ``timeout_s``)."""
    received: list[tuple[bytes, dict[str, Any]]] = []
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        deadline = time.monotonic() + timeout_s
        while len(received) < expect and time.monotonic() < deadline:
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                time.sleep(0.05)
                continue
            received.append((body, dict(properties.headers or {})))
    finally:
        connection.close()
    return received
