"""The demo's review round: a person approves one draft, edits another, rejects a third; the
sender delivers the approved ones (to the in-process mail sink); a reply comes back and the
follow-up agent classifies it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from services.demo.mail_sink import MailSink

__all__ = ["review_and_send"]

_EDITED_CLOSING = "Would a 15-minute call next week be useful?"
_REPLY = "Thanks, this is timely. I'm interested: could we talk on Thursday afternoon?"


def review_and_send(client: httpx.Client, mail: MailSink, timeout_s: float) -> bool:
    """Decide three email drafts, wait for the two approved ones to go out, answer one."""
    queue = client.get("/v1/approvals", params={"item_type": "email_draft", "limit": 3}).json()
    items: list[dict[str, Any]] = queue["items"]
    if len(items) < 3:
        print("\nreview: fewer than three email drafts to review")
        return False
    as_is, to_edit, to_reject = items
    print("\nreview: approve one draft, approve one with an edit, reject one")
    _decide(client, f"/v1/approvals/{as_is['id']}/approve", None)
    first_paragraph = to_edit["content"]["body"].split("\n\n")[0]
    edited_body = f"{first_paragraph}\n\n{_EDITED_CLOSING}"
    _decide(client, f"/v1/approvals/{to_edit['id']}/approve", {"body": edited_body})
    _decide(client, f"/v1/approvals/{to_reject['id']}/reject", {"reason": "Too generic"})

    def both_sent() -> bool:
        return bool(client.get("/v1/sends", params={"status": "sent"}).json()["total"] == 2)

    if not _wait(both_sent, timeout_s):
        print("  the approved messages were not sent in time")
        return False
    print(f"  the sender delivered {len(mail.messages)} messages over SMTP (exactly once each):")
    for caught in mail.messages:
        message = caught.message
        print(f"    to {', '.join(caught.recipients)} · {message['Subject']}")
        print(f"      Message-ID {message['Message-ID']}")
        print(f"      List-Unsubscribe-Post: {message['List-Unsubscribe-Post']}")
    return _answer(client, mail, timeout_s)


def _answer(client: httpx.Client, mail: MailSink, timeout_s: float) -> bool:
    first = mail.messages[0]
    reply = client.post(
        "/v1/replies",
        json={
            "in_reply_to": str(first.message["Message-ID"]),
            "from_address": first.recipients[0],
            "subject": f"Re: {first.message['Subject']}",
            "body": _REPLY,
        },
    )
    reply.raise_for_status()
    task_id = reply.json()["classification_task_id"]

    def classified() -> bool:
        return bool(client.get(f"/v1/tasks/{task_id}").json()["status"] == "completed")

    if not _wait(classified, timeout_s):
        print("  the reply was not classified in time")
        return False
    output = client.get(f"/v1/tasks/{task_id}").json()["output"]
    print(f'\nreply from {first.recipients[0]}: "{_REPLY}"')
    print(f"  classified by the follow-up agent as: {output['category']}")
    return True


def _decide(client: httpx.Client, path: str, body: dict[str, str] | None) -> None:
    response = client.post(path, json=body) if body else client.post(path)
    response.raise_for_status()
    decided = response.json()
    send = decided.get("send") or {}
    print(
        f"  {decided['status']:<9} {decided['title']}"
        + (f" → send {send['status']}" if send else "")
    )


def _wait(done: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True
