"""Per-type agent configuration: one pydantic model per canonical agent type.

Configs are stored by their camelCase aliases (the seeds' spelling); snake_case field names
are accepted on input too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from shared.agent_types import AgentType
from shared.agents.cron import validate_cron
from shared.apollo.queries import Seniority

__all__ = [
    "AgentConfigInvalid",
    "BaseAgentConfig",
    "ContactFinderConfig",
    "EnrichmentConfig",
    "FollowupConfig",
    "FollowupType",
    "LeadSourceConfig",
    "Limits",
    "OutreachConfig",
    "RevenueRange",
    "ScoringConfig",
    "config_model",
    "to_aliases",
    "validate_agent_config",
]

Text = Annotated[str, Field(min_length=1, max_length=200)]
TextList = Annotated[list[Text], Field(max_length=100)]
FollowupType = Literal["reminder", "value_add", "check_in", "escalation"]
ALL_FOLLOWUP_TYPES: tuple[FollowupType, ...] = ("reminder", "value_add", "check_in", "escalation")


class AgentConfigInvalid(ValueError):
    """An agent config that does not fit its type; ``errors`` lists every problem."""

    def __init__(self, message: str, errors: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.errors = errors


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=to_camel)


class Limits(_Model):
    daily: int | None = Field(default=None, ge=1)
    hourly: int | None = Field(default=None, ge=1)


class RevenueRange(_Model):
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class BaseAgentConfig(_Model):
    """Fields every agent type shares."""

    enabled: bool = True
    schedule: str | None = Field(default=None, max_length=100)
    limits: Limits = Field(default_factory=Limits)
    approval_required: bool = True
    approval_expiry_hours: int | None = Field(default=None, ge=1, le=720)
    """How long the agent's approval items wait for a decision; None: the platform default."""
    llm_provider: Literal["openai", "anthropic", "gemini"] | None = None
    llm_model: str | None = Field(default=None, min_length=1, max_length=100)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else validate_cron(value)


class OutreachConfig(BaseAgentConfig):
    auto_approve: bool = False
    max_daily_outreach: int = Field(default=50, ge=1, le=10_000)
    message_tone: Literal["professional", "friendly", "casual"] = "professional"
    include_event_context: bool = True
    include_account_intelligence: bool = True
    notify_followup_agent: bool = False
    default_followup_delay_days: int = Field(default=3, ge=1, le=90)


class FollowupConfig(BaseAgentConfig):
    default_followup_delay_days: int = Field(default=3, ge=1, le=90)
    max_followups: int = Field(default=3, ge=1, le=10)
    escalation_after_attempts: int = Field(default=2, ge=1, le=10)
    followup_types: list[FollowupType] = Field(
        default_factory=lambda: list(ALL_FOLLOWUP_TYPES),
        min_length=1,
    )

    @field_validator("followup_types")
    @classmethod
    def _unique(cls, value: list[FollowupType]) -> list[FollowupType]:
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _escalation_within_limit(self) -> Self:
        if self.escalation_after_attempts > self.max_followups:
            raise ValueError("escalationAfterAttempts must not exceed maxFollowups")
        return self


class ScoringConfig(BaseAgentConfig):
    min_relevance_score: float = Field(default=0.5, ge=0.0, le=1.0)
    max_opportunities_per_day: int = Field(default=50, ge=1, le=10_000)
    prioritize_by_signal_strength: bool = True
    coordinate_with_outreach: bool = True


class LeadSourceConfig(BaseAgentConfig):
    """The ideal customer profile searched for (Apollo organization search filters)."""

    industries: TextList = Field(default_factory=list)
    employee_ranges: list[Annotated[str, Field(pattern=r"^\d+,\d*$")]] = Field(
        default_factory=list, max_length=20
    )
    revenue_range: RevenueRange = Field(default_factory=RevenueRange)
    locations: TextList = Field(default_factory=list)
    technologies: TextList = Field(default_factory=list)
    keywords: TextList = Field(default_factory=list)
    max_pages_per_run: int = Field(default=5, ge=1, le=50)

    @field_validator("employee_ranges")
    @classmethod
    def _ranges_ordered(cls, value: list[str]) -> list[str]:
        for item in value:
            low, _, high = item.partition(",")
            if high and int(low) > int(high):
                raise ValueError(f"employee range {item!r} runs backwards")
        return value


class EnrichmentConfig(BaseAgentConfig):
    include_news: bool = True
    include_technologies: bool = True
    include_intent_signals: bool = True


class ContactFinderConfig(BaseAgentConfig):
    titles: TextList = Field(default_factory=list)
    seniorities: list[Seniority] = Field(default_factory=list)
    departments: TextList = Field(default_factory=list)
    max_contacts_per_account: int = Field(default=5, ge=1, le=50)
    reveal_emails: bool = True


_MODELS: dict[AgentType, type[BaseAgentConfig]] = {
    AgentType.OUTREACH: OutreachConfig,
    AgentType.FOLLOWUP: FollowupConfig,
    AgentType.SCORING: ScoringConfig,
    AgentType.LEAD_SOURCE: LeadSourceConfig,
    AgentType.ENRICHMENT: EnrichmentConfig,
    AgentType.CONTACT_FINDER: ContactFinderConfig,
}


def config_model(agent_type: AgentType) -> type[BaseAgentConfig]:
    """The config model of ``agent_type``."""
    return _MODELS[agent_type]


def to_aliases(agent_type: AgentType, raw: dict[str, Any]) -> dict[str, Any]:
    """Rename top-level snake_case field names to their stored camelCase aliases."""
    fields = config_model(agent_type).model_fields
    return {
        (fields[key].alias or key) if key in fields else key: value for key, value in raw.items()
    }


def validate_agent_config(agent_type: AgentType, raw: dict[str, Any]) -> dict[str, Any]:
    """Validate ``raw`` for ``agent_type`` and return it normalised, defaults filled, by alias.

    Raises :class:`AgentConfigInvalid` naming every problem as ``config.<field>: <message>``.
    """
    try:
        parsed = config_model(agent_type).model_validate(raw)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(["config", *(str(p) for p in err["loc"])]),
                "message": err["msg"].removeprefix("Value error, "),
            }
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise AgentConfigInvalid(
            f"invalid {agent_type.value} agent config: {detail}", errors
        ) from None
    return parsed.model_dump(mode="json", by_alias=True)
