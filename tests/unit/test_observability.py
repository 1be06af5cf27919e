"""Log redaction, trace context and the metric catalogue."""

from __future__ import annotations

import contextlib
import io
import logging

import pytest
import structlog
from prometheus_client import CollectorRegistry

from shared.logging import _redact, _RedactingFilter, redact_text, register_secret
from shared.metrics.catalogue import INSTRUMENTED_NAMES, FleetMetrics
from shared.metrics.committed import count_committed_events
from shared.metrics.process import install_metrics
from shared.outbox import trace_headers
from shared.ratelimit.metered import status_class
from shared.tracing import parse_traceparent, trace_id_from, traceparent_for

pytestmark = pytest.mark.unit

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_registered_secrets_keys_and_tokens_are_cut_from_log_events() -> None:
    register_secret("s3cr3t-canary-value")
    event = _redact(
        None,
        "info",
        {
            "event": "provider.failed",
            "error": "401 for key s3cr3t-canary-value at https://x",
            "api_key": "anything",
            "smtp_password": "pw",
            "tokens_in": 12,
            "body": "Hello Ada, ...",
            "header": "Authorization: Bearer abc.def-ghi",
            "key": "af_0123456789abcdef_SECRETsecret",
            "nested": {"password": "x", "note": "s3cr3t-canary-value"},
        },
    )
    assert "s3cr3t-canary-value" not in str(event)
    assert event["api_key"] == event["smtp_password"] == "[redacted]"
    assert event["tokens_in"] == 12
    assert event["body"] == "[redacted 14 chars]"
    assert event["header"] == "Authorization: Bearer [redacted]"
    assert event["key"] == "af_[redacted]"
    assert event["nested"] == {"password": "[redacted]", "note": "[redacted]"}


def test_standard_library_records_and_tracebacks_are_scrubbed() -> None:
    register_secret("stdlib-canary-secret")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(_RedactingFilter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError("connect failed with stdlib-canary-secret")
        except RuntimeError:
            logger.exception("Failed to process message %s", {"key": "stdlib-canary-secret"})
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Failed to process message" in text
    assert "RuntimeError" in text
    assert "stdlib-canary-secret" not in text


def test_redact_text_leaves_ordinary_text_alone() -> None:
    assert redact_text("task.completed in 120 ms") == "task.completed in 120 ms"


def test_traceparent_is_parsed_and_a_new_span_keeps_the_trace() -> None:
    assert parse_traceparent(f"00-{TRACE}-00f067aa0ba902b7-01") == TRACE
    assert parse_traceparent(f"00-{'0' * 32}-00f067aa0ba902b7-01") is None
    assert parse_traceparent("garbage") is None
    child = traceparent_for(TRACE)
    assert child is not None
    assert parse_traceparent(child) == TRACE
    assert traceparent_for("caller-chosen-id") is None


def test_the_bound_trace_id_is_used_when_no_header_names_one() -> None:
    with structlog.contextvars.bound_contextvars(trace_id=TRACE):
        assert trace_id_from(None) == TRACE
    assert trace_id_from(f"00-{'a' * 32}-00f067aa0ba902b7-01") == "a" * 32
    assert len(trace_id_from(None)) == 32


def test_messages_carry_a_traceparent_only_for_w3c_trace_ids() -> None:
    headers = trace_headers(TRACE)
    assert headers["trace_id"] == TRACE
    assert parse_traceparent(headers["traceparent"]) == TRACE
    assert trace_headers("custom") == {"trace_id": "custom"}
    assert trace_headers(None) == {}


def test_the_catalogue_lists_every_instrument_it_builds() -> None:
    registry = CollectorRegistry()
    FleetMetrics(registry)
    exported = set()
    for family in registry.collect():
        suffix = "_total" if family.type == "counter" else ""
        exported.add(family.name + suffix)
    assert exported == set(INSTRUMENTED_NAMES)


def test_status_classes() -> None:
    assert [status_class(s) for s in (200, 201, 404, 429, 503, None)] == [
        "2xx",
        "2xx",
        "4xx",
        "429",
        "5xx",
        "error",
    ]


def test_committed_events_count_sends_decisions_and_queued_tasks() -> None:
    import uuid

    from shared.events import Event, EventType

    registry = CollectorRegistry()
    install_metrics(registry)

    def event(event_type: EventType, **payload: object) -> Event:
        return Event(
            event_type=event_type,
            tenant_id=uuid.uuid4(),
            aggregate_type="x",
            aggregate_id=uuid.uuid4(),
            payload=payload,
        )

    count_committed_events(
        [
            event(EventType.MESSAGE_SENT),
            event(EventType.MESSAGE_DEFERRED),
            event(EventType.APPROVAL_EDITED, pending_s=90.0),
            event(EventType.TASK_QUEUED, agent_type="outreach", trigger="api"),
            event(EventType.DRAFT_CREATED),
        ]
    )
    get = registry.get_sample_value
    assert get("agentfleet_sends_total", {"outcome": "sent"}) == 1
    assert get("agentfleet_sends_total", {"outcome": "deferred"}) == 1
    assert get("agentfleet_approval_decisions_total", {"outcome": "edited"}) == 1
    assert get("agentfleet_approval_time_to_decision_seconds_sum", {"outcome": "edited"}) == 90
    assert get("agentfleet_tasks_queued_total", {"agent_type": "outreach", "trigger": "api"}) == 1


def test_a_structlog_traceback_is_scrubbed() -> None:
    from shared.logging import configure_logging
    from shared.settings import Settings

    saved = structlog.get_config()
    stream = io.StringIO()
    try:
        with contextlib.redirect_stderr(stream):
            configure_logging(Settings(encryption_key="unit-test-encryption-key-0123456789abcdef"))
            register_secret("traceback-canary-secret")
            try:
                raise RuntimeError("boom with traceback-canary-secret")
            except RuntimeError:
                structlog.get_logger("test").exception("unit.failed")
    finally:
        structlog.configure(**saved)
    text = stream.getvalue()
    assert "RuntimeError" in text
    assert "traceback-canary-secret" not in text
