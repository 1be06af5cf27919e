"""Process configuration: the only reader of the environment.

Every value comes from ``AGENTFLEET_*`` environment variables (or a ``.env`` file) and is
validated when the settings object is built, so a process fails at start rather than on
first use. Reach it through :func:`get_settings`; tests build :class:`Settings` directly.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]

PositiveFloat = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]


class Settings(BaseSettings):
    """Validated configuration shared by the API, the worker pools, the relay and the CLI."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTFLEET_", env_file=".env", extra="ignore", frozen=True
    )

    # Storage and messaging.
    database_url: str = "postgresql+psycopg://agentfleet_app@127.0.0.1:5432/agentfleet"
    relay_database_url: str | None = Field(
        default=None,
        description="Connection for the outbox relay (role agentfleet_relay); "
        "defaults to database_url with that role.",
    )
    scheduler_database_url: str | None = Field(
        default=None,
        description="Connection for the scheduler (role agentfleet_scheduler); "
        "defaults to database_url with that role.",
    )
    migration_database_url: str | None = Field(
        default=None, description="Owner connection used by migrations; defaults to database_url."
    )
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    redis_url: str = "redis://127.0.0.1:6379/0"
    db_pool_size: PositiveInt = Field(
        default=16, description="Connections per process; size it to the worker threads."
    )
    broker_max_priority: Annotated[int, Field(ge=1, le=255)] = 4
    events_exchange: str = "agentfleet.events"

    # Providers. Every base URL defaults to the sandbox provider on loopback, which serves all
    # four wire formats on one port; point them at the real APIs in production.
    llm_provider: Literal["openai", "anthropic", "gemini"] = "openai"
    llm_model: str | None = Field(
        default=None, description="Model for llm_provider; None picks that provider's default."
    )
    openai_base_url: str = "http://127.0.0.1:8700/v1"
    openai_api_key: SecretStr = SecretStr("sandbox-key")
    openai_model: str = "gpt-4.1-mini"
    anthropic_base_url: str = "http://127.0.0.1:8700"
    anthropic_api_key: SecretStr = SecretStr("sandbox-key")
    anthropic_model: str = "claude-sonnet-4-5"
    gemini_base_url: str = "http://127.0.0.1:8700/v1beta"
    gemini_api_key: SecretStr = SecretStr("sandbox-key")
    gemini_model: str = "gemini-2.5-flash"
    apollo_base_url: str = "http://127.0.0.1:8700/api/v1"
    apollo_api_key: SecretStr = SecretStr("sandbox-key")
    llm_connect_timeout_s: PositiveFloat = 5.0
    llm_read_timeout_s: PositiveFloat = 60.0
    llm_total_timeout_s: PositiveFloat = 90.0
    llm_max_attempts: PositiveInt = 4
    llm_max_inline_wait_s: Annotated[float, Field(ge=0)] = Field(
        default=5.0,
        description="Longest provider-suggested wait slept in a worker; a longer one defers.",
    )

    # Rate limits per provider credential (defaults; corrected from response headers).
    redis_key_prefix: str = "agentfleet"
    openai_requests_per_minute: PositiveInt = 500
    openai_tokens_per_minute: PositiveInt = 200_000
    anthropic_requests_per_minute: PositiveInt = 50
    anthropic_tokens_per_minute: PositiveInt = 40_000
    gemini_requests_per_minute: PositiveInt = 1_000
    gemini_tokens_per_minute: PositiveInt = 1_000_000
    apollo_requests_per_minute: PositiveInt = 200
    apollo_requests_per_hour: PositiveInt = 6_000
    apollo_requests_per_day: PositiveInt = 50_000
    tenant_max_concurrent_calls: PositiveInt | None = Field(
        default=None, description="Per-tenant cap on provider calls in flight (None: no cap)."
    )
    tenant_concurrency_lease_s: PositiveFloat = 120.0

    # Cost: USD per million tokens (input, output) per model, and per Apollo credit.
    llm_prices_per_mtok: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {
            "gpt-4.1-mini": (0.40, 1.60),
            "gpt-4o-mini": (0.15, 0.60),
            "claude-sonnet-4-5": (3.00, 15.00),
            "gemini-2.5-flash": (0.30, 2.50),
        }
    )
    apollo_credit_price_usd: Annotated[float, Field(ge=0)] = 0.025

    # Secrets.
    encryption_key: SecretStr = Field(
        description="Key for provider credentials at rest (32+ characters of secret material)."
    )
    encryption_previous_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Retired keys still accepted for reading, so keys can be rotated.",
    )

    # Limits.
    api_max_body_bytes: PositiveInt = 256 * 1024
    task_max_retries: Annotated[int, Field(ge=0)] = 5
    task_time_limit_s: PositiveInt = 300
    worker_min_backoff_ms: PositiveInt = 1_000
    approval_default_ttl_hours: PositiveInt = 72
    outbox_batch_size: PositiveInt = 100
    outbox_poll_interval_s: PositiveFloat = 1.0
    outbox_claim_ttl_s: PositiveFloat = 30.0
    relay_reconnect_max_s: PositiveFloat = 10.0
    scheduler_poll_interval_s: PositiveFloat = 5.0
    scheduler_batch_size: PositiveInt = 100

    # Sending.
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where recipients reach the API (the one-click unsubscribe link).",
    )
    unsubscribe_secret: SecretStr | None = Field(
        default=None,
        description="Signs unsubscribe links; derived from encryption_key when unset.",
    )
    smtp_host: str | None = Field(
        default=None, description="Platform mailbox for tenants without one of their own."
    )
    smtp_port: PositiveInt = 587
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str | None = None
    mail_from_name: str | None = None
    mailbox_daily_cap: PositiveInt = 30
    smtp_timeout_s: PositiveFloat = 30.0
    sender_max_attempts: PositiveInt = 8
    sender_retry_base_s: PositiveFloat = 60.0
    reviewer_guidance_window: PositiveInt = Field(
        default=20, description="Recent rejections and edits an agent's guidance is built from."
    )
    mailbox_poll_interval_s: PositiveFloat = Field(
        default=60.0,
        description="How often the scheduler reads each mailbox that has an IMAP inbox.",
    )
    imap_timeout_s: PositiveFloat = Field(
        default=30.0, description="Connect and read timeout of one IMAP conversation."
    )

    log_level: str = "INFO"
    log_json: bool = True
    metrics_host: str = Field(
        default="0.0.0.0",
        description="Interface of the /metrics and /healthz exporter of workers, relay, scheduler.",
    )
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = Field(
        default=9191, description="Port of that exporter; 0 turns it off."
    )
    metrics_dir: str = Field(
        default="/tmp/agentfleet-metrics",
        description="Where a worker pool's processes keep their metric files for the exporter.",
    )

    @field_validator("encryption_key")
    @classmethod
    def _encryption_key_is_set(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("encryption_key must be at least 32 characters")
        return value

    def llm_model_for(self, provider: str) -> str:
        """The configured model for ``provider`` (``llm_model`` overrides the default one)."""
        if self.llm_model and provider == self.llm_provider:
            return self.llm_model
        models = {
            "openai": self.openai_model,
            "anthropic": self.anthropic_model,
            "gemini": self.gemini_model,
        }
        return models[provider]

    def relay_url(self) -> str:
        """The relay's connection URL (its own database role)."""
        return self.relay_database_url or _with_user(self.database_url, "agentfleet_relay")

    def scheduler_url(self) -> str:
        """The scheduler's connection URL (its own database role)."""
        return self.scheduler_database_url or _with_user(self.database_url, "agentfleet_scheduler")

    def migration_url(self) -> str:
        """The migration owner's connection URL."""
        return self.migration_database_url or self.database_url


def _with_user(url: str, user: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.set(username=user, password=None).render_as_string(hide_password=False)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
