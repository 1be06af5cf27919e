"""An SMTP server in the demo's own process that keeps every message it is sent: the embedded
stack's outgoing mail goes here, so nothing leaves the machine."""

from __future__ import annotations

import email
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["CaughtMessage", "MailSink"]


@dataclass(frozen=True)
class CaughtMessage:
    recipients: tuple[str, ...]
    message: EmailMessage


class _Keeper:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self._sink.keep(CaughtMessage(tuple(envelope.rcpt_tos), parsed))
        return "250 OK: kept by the demo's mail sink"


class MailSink:
    """``start()`` listens on a free loopback port; ``messages`` is what arrived, in order."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port()
        self._lock = threading.Lock()
        self._messages: list[CaughtMessage] = []
        self._controller = Controller(_Keeper(self), hostname=self.host, port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def keep(self, message: CaughtMessage) -> None:
        with self._lock:
            self._messages.append(message)

    @property
    def messages(self) -> list[CaughtMessage]:
        with self._lock:
            return list(self._messages)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
