"""Serving ``/metrics`` (and ``/healthz``) from a process that has no web server of its own."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

__all__ = ["MetricsServer", "multiprocess_registry", "process_alive", "start_metrics_server"]

log = structlog.get_logger(__name__)

_PID_IN_FILE = re.compile(r"_(\d+)\.db$")


class MetricsServer:
    """A running exporter; :meth:`close` stops it."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def start_metrics_server(
    host: str,
    port: int,
    registry: Callable[[], CollectorRegistry],
    *,
    healthy: Callable[[], bool] = lambda: True,
) -> MetricsServer | None:
    """Serve ``registry()`` at ``/metrics`` and ``healthy()`` at ``/healthz`` from a thread.

    Returns None when the port cannot be bound: the process's work matters more than its
    metrics, so that is logged, not raised.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                ok = healthy()
                self._reply(200 if ok else 503, b"ok\n" if ok else b"unhealthy\n", "text/plain")
            elif path in ("/metrics", "/"):
                self._reply(200, generate_latest(registry()), CONTENT_TYPE_LATEST)
            else:
                self._reply(404, b"not found\n", "text/plain")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None  # scrapes every few seconds would drown the logs

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        log.error("metrics.exporter_unavailable", host=host, port=port, error=str(exc))
        return None
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="metrics-exporter", daemon=True)
    thread.start()
    log.info("metrics.exporter_started", host=host, port=server.server_address[1])
    return MetricsServer(server, thread)


def multiprocess_registry(directory: Path) -> CollectorRegistry:
    """A registry over the metric files the worker processes write to ``directory``.

    Files of live-only gauges left by processes that died are removed first, so an in-flight
    gauge does not count work that is no longer running.
    """
    for pid in _dead_pids(directory):
        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return registry


def _dead_pids(directory: Path) -> set[int]:
    pids = set()
    for file in directory.glob("gauge_live*.db"):
        match = _PID_IN_FILE.search(file.name)
        if match and not process_alive(int(match.group(1))):
            pids.add(int(match.group(1)))
    return pids


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
