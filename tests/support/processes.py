"""Starting agentfleet's real processes for end-to-end tests, configured through the environment."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from shared.settings import Settings

BIN = Path(sys.executable).parent


def settings_environment(settings: Settings) -> dict[str, str]:
    """``AGENTFLEET_*`` variables that make a child process build exactly ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AGENTFLEET_")}
    dumped = settings.model_dump(mode="json")
    for name, value in dumped.items():
        if value is None:
            continue
        field = getattr(settings, name)
        if isinstance(field, SecretStr):
            value = field.get_secret_value()
        elif isinstance(field, list) and field and isinstance(field[0], SecretStr):
            value = [item.get_secret_value() for item in field]
        env[f"AGENTFLEET_{name.upper()}"] = (
            json.dumps(value) if isinstance(value, dict | list) else str(value)
        )
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class ProcessGroup:
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.processes[name] = process
        return process

    def stop(self, name: str, timeout_s: float = 20) -> int | None:
        process = self.processes.pop(name)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        return process.returncode

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def assert_running(self) -> None:
        dead = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
        if dead:
            details = "\n".join(f"--- {n} ---\n{self.log(n)[-3000:]}" for n in dead)
            raise AssertionError(f"processes exited: {dead}\n{details}")


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return check


@contextlib.contextmanager
def process_group(log_dir: Path) -> Iterator[ProcessGroup]:
    group = ProcessGroup(log_dir)
    try:
        yield group
    finally:
        group.stop_all()
