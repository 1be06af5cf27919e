"""Serving the sandbox provider: as its own process, or on a background thread of this one."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Self

import uvicorn

from services.sandbox.app import create_sandbox_app
from services.sandbox.config import SandboxConfig

__all__ = ["SandboxHandle", "run_sandbox", "sandbox_base_url", "start_sandbox_in_thread"]

_STARTUP_POLL_S = 0.005
_BASE_PATHS = {"openai": "/v1", "anthropic": "", "gemini": "/v1beta", "apollo": "/api/v1"}


def sandbox_base_url(root_url: str, provider: str) -> str:
    """The base URL of ``provider``'s API on a sandbox served at ``root_url``
    (what ``openai_base_url``, ``anthropic_base_url`` etc. are set to)."""
    try:
        return root_url.rstrip("/") + _BASE_PATHS[provider]
    except KeyError:
        raise ValueError(f"the sandbox does not serve {provider!r}") from None


class SandboxHandle:
    """A sandbox provider running on a daemon thread; ``stop()`` shuts it down.

    ``base_url`` is the OpenAI base URL (``.../v1``); ``root_url`` serves every provider.
    """

    def __init__(self, *, base_url: str, server: uvicorn.Server, thread: threading.Thread) -> None:
        self.base_url = base_url
        self.root_url = base_url.removesuffix("/v1")
        self._server = server
        self._thread = thread

    def provider_base_url(self, provider: str) -> str:
        """The base URL a client of ``provider`` (or Apollo) is configured with."""
        return sandbox_base_url(self.root_url, provider)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving and wait for the thread (open connections are closed if it lingers)."""
        self._server.should_exit = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout_s)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def run_sandbox(config: SandboxConfig, host: str, port: int) -> None:
    """Serve the sandbox provider until interrupted (blocks; SIGTERM/SIGINT stop it cleanly)."""
    uvicorn.run(
        create_sandbox_app(config), host=host, port=port, log_level="info", access_log=False
    )


def start_sandbox_in_thread(
    config: SandboxConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    startup_timeout_s: float = 5.0,
) -> SandboxHandle:
    """Start the sandbox provider on a daemon thread and return once it accepts connections.

    ``port=0`` picks a free port; the handle's ``base_url`` names the one chosen.
    """
    server = uvicorn.Server(
        uvicorn.Config(
            create_sandbox_app(config),
            host=host,
            port=port,
            # The embedding process owns logging configuration; uvicorn must not replace it.
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, name="sandbox-provider", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"sandbox provider could not start on {host}:{port}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"sandbox provider did not start within {startup_timeout_s} s")
        time.sleep(_STARTUP_POLL_S)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    url_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
    return SandboxHandle(
        base_url=f"http://{url_host}:{bound_port}/v1", server=server, thread=thread
    )
