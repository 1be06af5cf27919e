"""One SMTP conversation, step by step, so the caller can record how far it got.

:meth:`SmtpConversation.open` connects (implicit TLS, STARTTLS or plain) and logs in,
:meth:`~SmtpConversation.address` sends MAIL FROM and RCPT TO, and
:meth:`~SmtpConversation.transmit` sends DATA. Until the message data goes out, any failure is
an :class:`SmtpFailure`: nothing was delivered, and ``permanent`` says whether trying again can
help (a 5xx reply or a configuration the server does not support). A failure after the data
went out and before the server answered is :class:`SmtpOutcomeUnknown`: the server may have
accepted the message, so it must not be sent again blindly.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from types import TracebackType

from shared.db.models import SmtpSecurity
from shared.sending.mailboxes import SmtpServer

__all__ = ["SmtpConversation", "SmtpFailure", "SmtpOutcomeUnknown"]

_LEADING_DOT = re.compile(rb"(?m)^\.")
_CRLF = b"\r\n"


class SmtpFailure(Exception):
    """The server refused the message, or could not be reached, before accepting it."""

    def __init__(
        self, stage: str, detail: str, *, code: int | None = None, permanent: bool = False
    ) -> None:
        self.stage = stage
        self.code = code
        self.detail = detail
        self.permanent = permanent or (code is not None and 500 <= code < 600)
        super().__init__(f"{stage}: {code} {detail}" if code else f"{stage}: {detail}")


class SmtpOutcomeUnknown(Exception):
    """The conversation broke after the message data was handed over, before the reply."""


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _failure(stage: str, exc: BaseException) -> SmtpFailure:
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SmtpFailure(stage, str(exc), permanent=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        return SmtpFailure(stage, _text(exc.smtp_error), code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
        return SmtpFailure(stage, _describe(exc))
    # Any other smtplib refusal (e.g. no authentication method in common) is configuration.
    return SmtpFailure(stage, _describe(exc), permanent=True)


class SmtpConversation:
    """A context manager around one connection; it says QUIT (or just closes) on exit."""

    def __init__(
        self,
        server: SmtpServer,
        *,
        timeout_s: float,
        tls_context: ssl.SSLContext,
        local_hostname: str | None = None,
    ) -> None:
        self._server = server
        self._timeout_s = timeout_s
        self._tls_context = tls_context
        self._local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None
        self._broken = False

    def __enter__(self) -> SmtpConversation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _client(self) -> smtplib.SMTP:
        if self._smtp is None:
            raise RuntimeError("the SMTP conversation is not open")
        return self._smtp

    def open(self) -> None:
        """Connect, greet, secure the connection as configured and log in."""
        server = self._server
        stage = "connect"
        try:
            # Connecting in the constructor: it is where smtplib learns the host name that
            # STARTTLS and implicit TLS verify the certificate against.
            if server.security is SmtpSecurity.TLS:
                self._smtp = smtplib.SMTP_SSL(
                    server.host,
                    server.port,
                    local_hostname=self._local_hostname,
                    timeout=self._timeout_s,
                    context=self._tls_context,
                )
            else:
                self._smtp = smtplib.SMTP(
                    server.host,
                    server.port,
                    local_hostname=self._local_hostname,
                    timeout=self._timeout_s,
                )
            stage = "EHLO"
            self._smtp.ehlo_or_helo_if_needed()
            if server.security is SmtpSecurity.STARTTLS:
                stage = "STARTTLS"
                self._smtp.starttls(context=self._tls_context)
                self._smtp.ehlo()
            if server.username:
                stage = "AUTH"
                self._smtp.login(server.username, server.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            self._broken = True
            raise _failure(stage, exc) from exc

    def address(self, sender: str, recipient: str) -> None:
        """MAIL FROM and RCPT TO; a refused recipient is an :class:`SmtpFailure`."""
        smtp = self._client()
        try:
            code, reply = smtp.mail(sender)
            if code != 250:
                raise SmtpFailure("MAIL FROM", _text(reply), code=code)
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise SmtpFailure("RCPT TO", _text(reply), code=code)
        except (smtplib.SMTPException, OSError) as exc:
            self._broken = True
            raise _failure("MAIL FROM/RCPT TO", exc) from exc

    def transmit(self, message: bytes) -> str:
        """Send DATA; the server's reply (``"250 ..."``) once it accepted the message."""
        smtp = self._client()
        try:
            code, reply = smtp.docmd("DATA")
        except (smtplib.SMTPException, OSError) as exc:
            self._broken = True
            raise _failure("DATA", exc) from exc
        if code != 354:
            raise SmtpFailure("DATA", _text(reply), code=code)
        payload = _LEADING_DOT.sub(b"..", message)
        if not payload.endswith(_CRLF):
            payload += _CRLF
        try:
            smtp.send(payload + b"." + _CRLF)
            code, reply = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self._broken = True
            raise SmtpOutcomeUnknown(_describe(exc)) from exc
        if code != 250:
            raise SmtpFailure("end of DATA", _text(reply), code=code)
        return f"{code} {_text(reply)}"

    def close(self) -> None:
        """QUIT politely after a clean conversation; after a broken one just drop the socket,
        since the server may not answer."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        if not self._broken:
            try:
                smtp.quit()
                return
            except (smtplib.SMTPException, OSError):
                pass
        smtp.close()
