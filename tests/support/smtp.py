"""A real SMTP server for tests (aiosmtpd, in a thread of the test process) that records every
message it accepts and can hold a conversation at RCPT TO or after DATA until released."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import ipaddress
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.servers import free_port

Stage = Literal["rcpt", "data"]


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Hold:
    """Stops the server at one stage of the next ``times`` conversations until released."""

    stage: Stage
    times: int = 1
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def wait_reached(self, timeout_s: float = 30) -> None:
        if not self.reached.wait(timeout_s):
            raise AssertionError(f"no conversation reached {self.stage} within {timeout_s}s")

    def release(self) -> None:
        self.released.set()

    async def block(self) -> None:
        self.reached.set()
        while not self.released.is_set():
            await asyncio.sleep(0.02)


class RecordingSmtpServer:
    """``with RecordingSmtpServer() as smtp:`` on a free loopback port.

    ``credentials`` turns on AUTH (one login and password); ``tls`` (a server context)
    offers STARTTLS. ``rcpt_reply`` answers every RCPT TO with that reply instead of 250.
    """

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        rcpt_reply: str | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.rcpt_reply = rcpt_reply
        self._credentials = credentials
        self._lock = threading.Lock()
        self._messages: list[ReceivedMessage] = []
        self._holds: list[Hold] = []
        self.logins: list[str] = []
        self.secured_sessions = 0
        kwargs: dict[str, Any] = {}
        if credentials is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=tls is not None)
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        self._controller = Controller(
            _RecordingHandler(self), hostname=self.host, port=self.port, **kwargs
        )

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            for hold in self._holds:
                hold.release()
        self._controller.stop()

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._messages)

    def hold_at(self, stage: Stage, *, times: int = 1) -> Hold:
        """Hold the next ``times`` conversations at ``stage``: ``rcpt`` before answering RCPT
        TO (nothing accepted), ``data`` after storing the message, before answering 250."""
        hold = Hold(stage, times)
        with self._lock:
            self._holds.append(hold)
        return hold

    def wait_for_messages(self, count: int, timeout_s: float = 30) -> list[ReceivedMessage]:
        deadline = time.monotonic() + timeout_s
        while self.count < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.count} messages received, expected {count}")
            time.sleep(0.05)
        return self.messages

    def _take_hold(self, stage: Stage) -> Hold | None:
        with self._lock:
            for hold in self._holds:
                if hold.stage == stage and hold.times > 0:
                    hold.times -= 1
                    return hold
        return None

    def _record(self, envelope: Envelope) -> None:
        content = envelope.original_content or b""
        with self._lock:
            self._messages.append(
                ReceivedMessage(envelope.mail_from or "", tuple(envelope.rcpt_tos), content)
            )

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: object,
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self._credentials is None:
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        if (login, password) != self._credentials:
            return AuthResult(success=False, handled=False)
        with self._lock:
            self.logins.append(login)
        return AuthResult(success=True)


class _RecordingHandler:
    def __init__(self, server: RecordingSmtpServer) -> None:
        self._server = server

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        hold = self._server._take_hold("rcpt")
        if hold is not None:
            await hold.block()
        if self._server.rcpt_reply is not None:
            return self._server.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self._server._record(envelope)
        if session.ssl is not None:
            with self._server._lock:
                self._server.secured_sessions += 1
        hold = self._server._take_hold("data")
        if hold is not None:
            await hold.block()
        return "250 2.0.0 Message accepted for delivery"


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """``(server context, client context trusting it)`` for a certificate of 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "agentfleet test smtp")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client
