"""structlog configuration: one JSON line per event, with context bound through contextvars.

Nothing secret and no message body reaches a log line:

* values under secret-sounding keys (``password``, ``api_key``, ``token``, ...) are replaced;
* values under body keys (``body``, ``prompt``, ``messages``, ...) are replaced by their length;
* every known secret (the settings' keys and passwords, and any registered at run time, such
  as a tenant's decrypted provider key) is cut out of every string, in structlog events and in
  standard-library records (Dramatiq, uvicorn, pika) alike, tracebacks included;
* agentfleet API keys (``af_<prefix>_<secret>``) and ``Bearer`` tokens are masked wherever they
  appear.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable
from typing import Any

import structlog
from pydantic import SecretStr

from shared.settings import Settings

__all__ = ["configure_logging", "redact_text", "register_secret"]

_SECRET_KEYS = frozenset(
    {"password", "secret", "token", "api_key", "apikey", "authorization", "cookie", "key_hash"}
)
_SECRET_KEY_SUFFIXES = ("_password", "_secret", "_token", "_api_key", "_encryption_key")
_BODY_KEYS = frozenset(
    {"body", "body_text", "body_html", "html", "text", "content", "prompt", "messages", "raw"}
)
_PATTERNS = (
    (re.compile(r"\baf_[0-9a-f]{16}_[A-Za-z0-9_\-]+"), "af_[redacted]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/\-]+=*"), "Bearer [redacted]"),
)
_MIN_SECRET_LENGTH = 6
_REDACTED = "[redacted]"

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Cut ``value`` out of every later log line (short values are ignored: too common)."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(value)


def redact_text(text: str) -> str:
    """``text`` with every registered secret, API key and Bearer token masked."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    lowered = key.lower()
    if lowered in _SECRET_KEYS or lowered.endswith(_SECRET_KEY_SUFFIXES):
        return _REDACTED
    if lowered in _BODY_KEYS and value is not None:
        return f"[redacted {len(str(value))} chars]"
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, item) for item in value]
    if isinstance(value, BaseException):
        return redact_text(str(value))
    return value


def _redact(
    _logger: object, _name: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    return {key: _redact_value(key, value) for key, value in event.items()}


class _RedactingFilter(logging.Filter):
    """Scrubs standard-library records before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def _settings_secrets(settings: Settings) -> Iterable[str]:
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, SecretStr):
                yield item.get_secret_value()
    for url in (settings.database_url, settings.broker_url, settings.redis_url):
        password = _url_password(url)
        if password:
            yield password


def _url_password(url: str) -> str | None:
    match = re.match(r"^[a-z0-9+]+://[^:/@]+:([^@]+)@", url)
    return match.group(1) if match else None


def configure_logging(settings: Settings) -> None:
    """Configure structlog and the standard library's root logger for this process."""
    for secret in _settings_secrets(settings):
        register_secret(secret)
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
            # After format_exc_info, so a traceback is redacted as the string it has become.
            structlog.processors.format_exc_info,
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        # Cached loggers keep the processors of their first call, so reconfiguring later
        # (structlog.testing.capture_logs, a second bootstrap) would miss them.
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(existing, _RedactingFilter) for existing in handler.filters):
            handler.addFilter(_RedactingFilter())
    # pika narrates every connection step at INFO; its warnings and errors still show.
    logging.getLogger("pika").setLevel(max(level, logging.WARNING))
