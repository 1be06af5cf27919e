"""Serving helpers for tests: a free loopback port, and the project's thread-served app."""

from __future__ import annotations

import socket

from services.serving import serve_app as serve_in_thread

__all__ = ["free_port", "serve_in_thread"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
