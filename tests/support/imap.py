"""A real IMAP4rev1 server for tests, in threads of the test process, on a free loopback port.

It speaks enough of RFC 3501 for a client that reads an inbox: CAPABILITY, NOOP, LOGIN,
SELECT / EXAMINE (with EXISTS, UIDVALIDITY and UIDNEXT), UID SEARCH (``UID n:*``, ``ALL``),
UID FETCH (``BODY.PEEK[]``, ``BODY[]``, ``RFC822``; the last two set ``\\Seen`` as a real
server does) and LOGOUT. Messages are put in by the test; :meth:`ImapTestServer.renumber`
gives a folder a new UIDVALIDITY, as a server that rebuilt its index would.
"""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(\([^)]*\))|(\S+))')


@dataclass
class StoredMessage:
    uid: int
    content: bytes
    flags: set[str] = field(default_factory=set)


@dataclass
class Folder:
    uidvalidity: int
    next_uid: int = 1
    messages: list[StoredMessage] = field(default_factory=list)


class ImapTestServer:
    """``with ImapTestServer(("user", "password")) as imap:`` serves one account's folders."""

    def __init__(self, credentials: tuple[str, str], *, folders: tuple[str, ...] = ("INBOX",)):
        self.host = "127.0.0.1"
        self._credentials = credentials
        self._lock = threading.Lock()
        self._next_validity = 1000
        self._folders = {name: Folder(self._new_validity()) for name in folders}
        self.logins: list[str] = []
        self.refused_logins: list[str] = []
        self.commands: list[str] = []
        self._server = _ThreadingServer((self.host, 0), _Session)
        self._server.imap = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def add_message(self, content: bytes, *, folder: str = "INBOX") -> int:
        """Deliver ``content`` to ``folder``; returns its UID."""
        with self._lock:
            box = self._folders[folder]
            uid = box.next_uid
            box.next_uid += 1
            box.messages.append(StoredMessage(uid, content))
            return uid

    def renumber(self, *, folder: str = "INBOX") -> int:
        """Give ``folder`` a new UIDVALIDITY and its messages new UIDs from 1; returns it."""
        with self._lock:
            box = self._folders[folder]
            box.uidvalidity = self._new_validity()
            for uid, message in enumerate(box.messages, start=1):
                message.uid = uid
            box.next_uid = len(box.messages) + 1
            return box.uidvalidity

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self._lock:
            return self._folders[folder].uidvalidity

    def seen_uids(self, folder: str = "INBOX") -> list[int]:
        with self._lock:
            return [m.uid for m in self._folders[folder].messages if "\\Seen" in m.flags]

    def command_names(self) -> list[str]:
        with self._lock:
            return list(self.commands)

    def _new_validity(self) -> int:
        self._next_validity += 7
        return self._next_validity

    # The session side, called from the connection threads.

    def _login(self, user: str, password: str) -> bool:
        with self._lock:
            accepted = (user, password) == self._credentials
            (self.logins if accepted else self.refused_logins).append(user)
            return accepted

    def _note(self, command: str) -> None:
        with self._lock:
            self.commands.append(command)

    def _folder(self, name: str) -> Folder | None:
        for folder_name, folder in self._folders.items():
            # INBOX is case-insensitive (RFC 3501 5.1); other names are not.
            if folder_name == name or (name.upper() == "INBOX" == folder_name.upper()):
                return folder
        return None


class _ThreadingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    imap: ImapTestServer


class _Session(socketserver.StreamRequestHandler):
    server: _ThreadingServer

    def setup(self) -> None:
        super().setup()
        self.imap = self.server.imap
        self.authenticated = False
        self.folder: Folder | None = None

    def handle(self) -> None:
        self._send(b"* OK [CAPABILITY IMAP4rev1] agentfleet test IMAP ready")
        while True:
            arguments = self._read_command()
            if arguments is None or len(arguments) < 2:
                return
            tag, command, rest = arguments[0], arguments[1].upper(), arguments[2:]
            if command == "UID" and rest:
                command, rest = f"UID {rest[0].upper()}", rest[1:]
            self.imap._note(command)
            if not self._dispatch(tag, command, rest):
                return

    def _dispatch(self, tag: str, command: str, args: list[str]) -> bool:
        if command == "CAPABILITY":
            self._send(b"* CAPABILITY IMAP4rev1")
            self._tagged(tag, "OK CAPABILITY completed")
        elif command == "NOOP":
            self._tagged(tag, "OK NOOP completed")
        elif command == "LOGOUT":
            self._send(b"* BYE logging out")
            self._tagged(tag, "OK LOGOUT completed")
            return False
        elif command == "LOGIN" and len(args) == 2:
            self.authenticated = self.imap._login(args[0], args[1])
            if self.authenticated:
                self._tagged(tag, "OK LOGIN completed")
            else:
                self._tagged(tag, "NO [AUTHENTICATIONFAILED] Invalid credentials")
        elif not self.authenticated:
            self._tagged(tag, "BAD log in first")
        elif command in ("SELECT", "EXAMINE") and len(args) == 1:
            self._select(tag, command, args[0])
        elif self.folder is None:
            self._tagged(tag, "BAD select a folder first")
        elif command == "UID SEARCH":
            self._search(tag, args)
        elif command == "UID FETCH" and len(args) == 2:
            self._fetch(tag, args[0], args[1].upper())
        else:
            self._tagged(tag, f"BAD {command} is not supported here")
        return True

    def _select(self, tag: str, command: str, name: str) -> None:
        with self.imap._lock:
            self.folder = self.imap._folder(name)
            if self.folder is None:
                self._tagged(tag, f"NO [NONEXISTENT] no folder {name}")
                return
            exists, validity, next_uid = (
                len(self.folder.messages),
                self.folder.uidvalidity,
                self.folder.next_uid,
            )
        self._send(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
        self._send(b"* %d EXISTS" % exists)
        self._send(b"* 0 RECENT")
        self._send(b"* OK [UIDVALIDITY %d] UIDs valid" % validity)
        self._send(b"* OK [UIDNEXT %d] predicted next UID" % next_uid)
        access = "READ-ONLY" if command == "EXAMINE" else "READ-WRITE"
        self._tagged(tag, f"OK [{access}] {command} completed")

    def _search(self, tag: str, args: list[str]) -> None:
        assert self.folder is not None
        with self.imap._lock:
            uids = [m.uid for m in self.folder.messages]
        criteria = [arg.upper() for arg in args]
        if criteria == ["ALL"]:
            found = uids
        elif len(criteria) == 2 and criteria[0] == "UID":
            wanted = _uid_set(args[1], max(uids, default=0))
            found = [uid for uid in uids if uid in wanted]
        else:
            self._tagged(tag, "BAD only UID <set> and ALL are supported here")
            return
        self._send(b"* SEARCH" + b"".join(b" %d" % uid for uid in found))
        self._tagged(tag, "OK SEARCH completed")

    def _fetch(self, tag: str, uid_set: str, items: str) -> None:
        assert self.folder is not None
        if "BODY.PEEK[]" in items:
            name, marks_seen = b"BODY[]", False
        elif "BODY[]" in items:
            name, marks_seen = b"BODY[]", True
        elif "RFC822" in items:
            name, marks_seen = b"RFC822", True
        else:
            self._tagged(tag, "BAD only whole messages are served here")
            return
        with self.imap._lock:
            highest = max((m.uid for m in self.folder.messages), default=0)
            wanted = _uid_set(uid_set, highest)
            found = [
                (sequence, message.uid, message.content)
                for sequence, message in enumerate(self.folder.messages, start=1)
                if message.uid in wanted
            ]
            if marks_seen:
                for message in self.folder.messages:
                    if message.uid in wanted:
                        message.flags.add("\\Seen")
        for sequence, uid, content in found:
            self.wfile.write(
                b"* %d FETCH (UID %d %s {%d}\r\n" % (sequence, uid, name, len(content))
            )
            self.wfile.write(content)
            self._send(b")")
        self._tagged(tag, "OK FETCH completed")

    def _read_command(self) -> list[str] | None:
        """One command's tokens (atoms, quoted strings, literals and parenthesised lists)."""
        tokens: list[str] = []
        while True:
            line = self.rfile.readline()
            if not line:
                return None
            literal = _LITERAL.search(line)
            text = line[: literal.start()] if literal else line.rstrip(b"\r\n")
            tokens += _tokens(text.decode(errors="replace"))
            if literal is None:
                return tokens
            if b"+" not in literal.group(0):
                self._send(b"+ go ahead")
            tokens.append(self.rfile.read(int(literal.group(1))).decode(errors="replace"))

    def _send(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")

    def _tagged(self, tag: str, text: str) -> None:
        self._send(f"{tag} {text}".encode())


def _tokens(text: str) -> list[str]:
    tokens = []
    for quoted, listed, atom in _TOKEN.findall(text):
        if quoted:
            tokens.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            tokens.append(listed or atom)
    return tokens


def _uid_set(text: str, highest: int) -> set[int]:
    """The UIDs a set such as ``3``, ``2:5``, ``7:*`` or ``1,4:6`` names (``*`` is the highest
    UID in use, so ``n:*`` always includes it, as RFC 3501 says)."""
    uids: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition(":")
        start = highest if first == "*" else int(first)
        end = start if not last else highest if last == "*" else int(last)
        low, high = sorted((start, end))
        uids.update(range(low, high + 1))
    return uids
