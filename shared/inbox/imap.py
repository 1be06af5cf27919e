"""One read-only IMAP conversation with a mailbox's inbox.

Security: port 993 is implicit TLS (``IMAP4_SSL``); any other port connects in plain text and
upgrades with STARTTLS when the server offers it, else logs in as it is (a server that offers
no TLS is trusted to be on a private network). The folder is opened with EXAMINE and messages
are fetched with ``BODY.PEEK[]``, so nothing is marked read or otherwise changed.

Any failure is an :class:`ImapFailure` naming the step it happened at.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

from shared.errors import TransientError

__all__ = ["IMPLICIT_TLS_PORT", "ImapAccess", "ImapFailure", "ImapInbox", "ImapOptions"]

IMPLICIT_TLS_PORT = 993
_FETCH_UID = re.compile(rb"\bUID (\d+)")


class ImapFailure(TransientError):
    """The server could not be reached, refused the login, or answered a command with an error."""

    def __init__(self, stage: str, detail: str) -> None:
        self.stage = stage
        self.detail = detail
        super().__init__(f"{stage}: {detail}")


@dataclass(frozen=True)
class ImapAccess:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    folder: str = "INBOX"


@dataclass(frozen=True)
class ImapOptions:
    timeout_s: float
    tls_context: ssl.SSLContext


def _describe(exc: BaseException) -> str:
    if isinstance(exc, imaplib.IMAP4.error):
        # imaplib carries the server's own words, often as bytes.
        return _text(list(exc.args))
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _text(data: Sequence[object]) -> str:
    parts = [
        item.decode(errors="replace") if isinstance(item, bytes) else str(item)
        for item in data
        if item is not None
    ]
    return " ".join(part for part in parts if part) or "no detail given"


def _quoted(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class ImapInbox:
    """``with ImapInbox(access, options) as inbox: validity = inbox.open(); ...``; logs out
    (or just drops the connection after a failure) on exit."""

    def __init__(self, access: ImapAccess, options: ImapOptions) -> None:
        self._access = access
        self._options = options
        self._imap: imaplib.IMAP4 | None = None
        self._broken = False

    def __enter__(self) -> ImapInbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> int:
        """Connect, secure, log in and open the folder read-only; returns its UIDVALIDITY."""
        access, options = self._access, self._options
        stage = "connect"
        try:
            if access.port == IMPLICIT_TLS_PORT:
                self._imap = imaplib.IMAP4_SSL(
                    access.host,
                    access.port,
                    ssl_context=options.tls_context,
                    timeout=options.timeout_s,
                )
            else:
                self._imap = imaplib.IMAP4(access.host, access.port, timeout=options.timeout_s)
                if "STARTTLS" in self._imap.capabilities:
                    stage = "STARTTLS"
                    self._imap.starttls(ssl_context=options.tls_context)
            stage = "LOGIN"
            self._imap.login(access.username, access.password)
            stage = "EXAMINE"
            status, data = self._imap.select(_quoted(access.folder), readonly=True)
            if status != "OK":
                raise ImapFailure(stage, f"{access.folder}: {_text(data)}")
            _status, validity = self._imap.response("UIDVALIDITY")
        except (imaplib.IMAP4.error, OSError) as exc:
            self._broken = True
            raise ImapFailure(stage, _describe(exc)) from exc
        try:
            return int(validity[0])
        except (TypeError, ValueError, IndexError):
            raise ImapFailure(stage, "the server reported no UIDVALIDITY") from None

    def uids_after(self, last_uid: int) -> list[int]:
        """The UIDs above ``last_uid``, ascending."""
        data = self._command("UID SEARCH", "SEARCH", "UID", f"{last_uid + 1}:*")
        found = {int(token) for item in data if isinstance(item, bytes) for token in item.split()}
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted(uid for uid in found if uid > last_uid)

    def fetch(self, uid: int) -> bytes | None:
        """The whole message with ``uid``, or None when it is gone (expunged meanwhile)."""
        data = self._command("UID FETCH", "FETCH", str(uid), "(UID BODY.PEEK[])")
        for item in data:
            if not isinstance(item, tuple) or len(item) < 2:
                continue
            found = _FETCH_UID.search(item[0])
            if found is not None and int(found.group(1)) == uid and isinstance(item[1], bytes):
                return item[1]
        return None

    def close(self) -> None:
        """LOGOUT after a clean conversation; after a broken one just drop the connection."""
        imap, self._imap = self._imap, None
        if imap is None:
            return
        if not self._broken:
            try:
                imap.logout()
                return
            except (imaplib.IMAP4.error, OSError):
                pass
        with contextlib.suppress(OSError):
            imap.shutdown()

    def _command(self, stage: str, command: str, *args: str) -> list[object]:
        if self._imap is None:
            raise RuntimeError("the IMAP conversation is not open")
        try:
            status, data = self._imap.uid(command, *args)
        except (imaplib.IMAP4.error, OSError) as exc:
            self._broken = True
            raise ImapFailure(stage, _describe(exc)) from exc
        if status != "OK":
            raise ImapFailure(stage, _text(data))
        return list(data)
