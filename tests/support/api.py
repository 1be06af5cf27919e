"""Small helpers for talking to the API in tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def outreach_body(contact_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {
        "agent_type": "outreach",
        "task_type": "draft_outreach",
        "input": {"contact_id": str(contact_id)},
        **extra,
    }


def post_task(
    client: httpx.Client, token: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return client.post("/v1/tasks", json=body, headers={**auth(token), **headers})


def task_status(api_url: str, token: str, task_id: str) -> str:
    """The task's status as ``GET /v1/tasks/{id}`` reports it."""
    response = httpx.get(f"{api_url}/v1/tasks/{task_id}", headers=auth(token), timeout=10)
    return str(response.json()["status"])
