"""structlog configuration: one JSON line per event, with context bound through contextvars."""

from __future__ import annotations

import logging
import sys

import structlog

from shared.settings import Settings

__all__ = ["configure_logging"]

_REDACTED_KEYS = frozenset({"api_key", "authorization", "password", "secret", "token"})


def _redact(
    _logger: object, _name: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    for key in event.keys() & _REDACTED_KEYS:
        event[key] = "[redacted]"
    return event


def configure_logging(settings: Settings) -> None:
    """Configure structlog and the standard library's root logger for this process."""
    level = logging.getLevelName(settings.log_level.upper())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        # Cached loggers keep the processors of their first call, so reconfiguring later
        # (structlog.testing.capture_logs, a second bootstrap) would miss them.
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    # pika narrates every connection step at INFO; its warnings and errors still show.
    logging.getLogger("pika").setLevel(max(level, logging.WARNING))
