"""Every Prometheus metric agentfleet exports, built on demand (never at import).

Label values are drawn from small fixed sets (agent types, outcomes, providers, models,
queue names, tenants); no task, message or item id is ever a label. ``tenant`` is the tenant
id: the number of tenants is the operator's to choose and stays small.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["COLLECTED_NAMES", "INSTRUMENTED_NAMES", "METRIC_NAMES", "FleetMetrics"]

_SHORT_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_TASK_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
_WAIT_S = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)
_DECISION_S = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0, 3 * 86400.0)


class FleetMetrics:
    """The metric objects of one process, registered on ``registry``.

    With ``registry=None`` the metrics live in prometheus_client's multiprocess files (a
    Dramatiq pool's worker processes); the exporter collects them from there.
    """

    def __init__(self, registry: CollectorRegistry | None) -> None:
        r = registry
        # Tasks, in the worker pools (the sender pool reports as agent_type="sender").
        self.tasks = Counter(
            "agentfleet_tasks_total",
            "Task messages handled, by agent type and outcome (completed, failed, deferred, "
            "held, dead_lettered, skipped, retried).",
            ["agent_type", "outcome"],
            registry=r,
        )
        self.task_duration = Histogram(
            "agentfleet_task_duration_seconds",
            "Time a worker spent on one task message.",
            ["agent_type"],
            buckets=_TASK_S,
            registry=r,
        )
        self.task_queue_wait = Histogram(
            "agentfleet_task_queue_wait_seconds",
            "Time from a message being due (published, or its delay elapsed) to a worker "
            "taking it.",
            ["agent_type"],
            buckets=_WAIT_S,
            registry=r,
        )
        self.task_retries = Counter(
            "agentfleet_task_retries_total",
            "Task attempts that failed transiently and were handed back for a retry.",
            ["agent_type"],
            registry=r,
        )
        self.task_deferrals = Counter(
            "agentfleet_task_deferrals_total",
            "Tasks put off without spending a retry: rate_limited (provider or governor) or "
            "quota (the agent's daily / hourly limit).",
            ["agent_type", "reason"],
            registry=r,
        )
        self.dead_letters = Counter(
            "agentfleet_dead_letters_total",
            "Messages parked on a dead-letter queue, by queue and kind of reason.",
            ["queue", "reason"],
            registry=r,
        )
        self.tasks_in_flight = Gauge(
            "agentfleet_tasks_in_flight",
            "Task messages being worked on right now.",
            ["agent_type"],
            multiprocess_mode="livesum",
            registry=r,
        )
        self.tasks_queued = Counter(
            "agentfleet_tasks_queued_total",
            "Tasks queued (committed task.queued events), by agent type and trigger (manual, "
            "scheduled, event, api).",
            ["agent_type", "trigger"],
            registry=r,
        )
        # Providers.
        self.provider_requests = Counter(
            "agentfleet_provider_requests_total",
            "HTTP requests to providers, by provider, model (LLM) or endpoint (Apollo) and "
            "status class (2xx, 4xx, 429, 5xx, error for no response).",
            ["provider", "model", "status"],
            registry=r,
        )
        self.provider_latency = Histogram(
            "agentfleet_provider_request_duration_seconds",
            "Latency of one provider HTTP request, answer read in full.",
            ["provider", "model"],
            buckets=_SHORT_S,
            registry=r,
        )
        self.governor_permits = Counter(
            "agentfleet_rate_governor_permits_total",
            "Rate governor decisions: granted (maybe after a wait) or deferred (wait too long).",
            ["provider", "result"],
            registry=r,
        )
        self.governor_wait = Histogram(
            "agentfleet_rate_governor_wait_seconds",
            "Time a call waited for its rate-governor slot.",
            ["provider"],
            buckets=_SHORT_S,
            registry=r,
        )
        self.governor_capacity = Gauge(
            "agentfleet_rate_governor_capacity_per_second",
            "Requests per second the governor allows one credential of the provider.",
            ["provider"],
            multiprocess_mode="max",
            registry=r,
        )
        self.llm_tokens = Counter(
            "agentfleet_llm_tokens_total",
            "LLM tokens billed, by tenant, agent type, provider, model and direction.",
            ["tenant", "agent_type", "provider", "model", "direction"],
            registry=r,
        )
        self.provider_cost = Counter(
            "agentfleet_provider_cost_usd_total",
            "Cost of provider calls in US dollars, by tenant, agent type and provider.",
            ["tenant", "agent_type", "provider"],
            registry=r,
        )
        # Approvals.
        self.approval_decisions = Counter(
            "agentfleet_approval_decisions_total",
            "Approval decisions by outcome (approved, edited, rejected, expired).",
            ["outcome"],
            registry=r,
        )
        self.approval_time_to_decision = Histogram(
            "agentfleet_approval_time_to_decision_seconds",
            "Time from an approval item's creation to its decision.",
            ["outcome"],
            buckets=_DECISION_S,
            registry=r,
        )
        # Outbox relay and scheduler.
        self.relay_published = Counter(
            "agentfleet_relay_published_total",
            "Outbox rows published with a broker confirm, by kind (task, event).",
            ["kind"],
            registry=r,
        )
        self.relay_failures = Counter(
            "agentfleet_relay_publish_failures_total",
            "Outbox rows whose publish failed and were released for a later attempt.",
            registry=r,
        )
        self.scheduler_dispatched = Counter(
            "agentfleet_scheduler_dispatched_total",
            "Work the scheduler set going, by kind (cron, held, send, expired, inbox).",
            ["kind"],
            registry=r,
        )
        # Sending.
        self.sends = Counter(
            "agentfleet_sends_total",
            "Email sends settled by the sender, by outcome.",
            ["outcome"],
            registry=r,
        )
        # The HTTP API.
        self.http_requests = Counter(
            "agentfleet_http_requests_total",
            "API requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "agentfleet_http_request_duration_seconds",
            "API request latency by method and route template.",
            ["method", "route"],
            buckets=_SHORT_S,
            registry=r,
        )


# Every metric family exported, as PromQL names it; the dashboard and the alert rules may
# use only these (a test checks the list against FleetMetrics and the scrape-time collectors).
INSTRUMENTED_NAMES = (
    "agentfleet_tasks_total",
    "agentfleet_task_duration_seconds",
    "agentfleet_task_queue_wait_seconds",
    "agentfleet_task_retries_total",
    "agentfleet_task_deferrals_total",
    "agentfleet_dead_letters_total",
    "agentfleet_tasks_in_flight",
    "agentfleet_tasks_queued_total",
    "agentfleet_provider_requests_total",
    "agentfleet_provider_request_duration_seconds",
    "agentfleet_rate_governor_permits_total",
    "agentfleet_rate_governor_wait_seconds",
    "agentfleet_rate_governor_capacity_per_second",
    "agentfleet_llm_tokens_total",
    "agentfleet_provider_cost_usd_total",
    "agentfleet_approval_decisions_total",
    "agentfleet_approval_time_to_decision_seconds",
    "agentfleet_relay_published_total",
    "agentfleet_relay_publish_failures_total",
    "agentfleet_scheduler_dispatched_total",
    "agentfleet_sends_total",
    "agentfleet_http_requests_total",
    "agentfleet_http_request_duration_seconds",
)
COLLECTED_NAMES = (
    "agentfleet_approvals_pending",
    "agentfleet_approval_oldest_pending_age_seconds",
    "agentfleet_outbox_unpublished",
    "agentfleet_outbox_lag_seconds",
    "agentfleet_tasks_open",
    "agentfleet_tenant_month_cost_usd",
    "agentfleet_tenant_budget_used_ratio",
    "agentfleet_queue_depth",
    "agentfleet_queue_consumers",
)
METRIC_NAMES = (*INSTRUMENTED_NAMES, *COLLECTED_NAMES)
