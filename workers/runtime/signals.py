"""Stopping a long-running process (relay, scheduler, API server) cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

__all__ = ["StopRequest", "stop_on_signals"]

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass
class StopRequest:
    """Set by SIGTERM or SIGINT; ``received`` names the signals, for the exit log."""

    event: threading.Event = field(default_factory=threading.Event)
    signals: list[int] = field(default_factory=list)

    @property
    def received(self) -> list[str]:
        return [signal.Signals(number).name for number in self.signals]


@contextmanager
def stop_on_signals(on_stop: Callable[[], None] | None = None) -> Iterator[StopRequest]:
    """Install the stop handlers for the block (main thread only), restoring the old ones.

    A stop signal is recorded, never fatal, so the process ends with its own exit status.
    ``on_stop`` runs inside the handler, for a loop that watches a flag of its own: it must
    only set flags.
    """
    request = StopRequest()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        # Only flag it: logging here could deadlock on a lock the interrupted code holds.
        request.signals.append(signum)
        request.event.set()
        if on_stop is not None:
            on_stop()

    previous = {sig: signal.signal(sig, _on_signal) for sig in _STOP_SIGNALS}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
