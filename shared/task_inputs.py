"""Per-task-type input models, used by the API (422 on bad input) and the workers alike."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.agent_types import TASK_TYPES, AgentType
from shared.db.models import Channel

__all__ = [
    "INPUT_MODELS",
    "ClassifyReplyInput",
    "DraftFollowupInput",
    "DraftOutreachInput",
    "EnrichAccountInput",
    "FindContactsInput",
    "IcpOverride",
    "InputInvalid",
    "PipelineSpec",
    "ScoreRecordsInput",
    "SourceLeadsInput",
    "validate_task_input",
]


Tone = Literal["professional", "friendly", "casual"]
FollowupKind = Literal["reminder", "value_add", "check_in", "escalation"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PipelineSpec(_Input):
    """Carried by every task of a prospecting pipeline run, so each step knows where to hand on.

    ``run_id`` is the task that started the run; ``agents`` names the agent (by canonical
    type) that takes each later step, else the tenant's enabled agent of that type is used.
    """

    run_id: uuid.UUID
    agents: dict[AgentType, uuid.UUID] = Field(default_factory=dict)
    contacts_per_account: int = Field(default=2, ge=1, le=20)
    """How many of an account's best-scored contacts are handed to outreach."""


class IcpOverride(_Input):
    """ICP filters for one run, over the lead_source agent's configured ones."""

    industries: list[str] | None = Field(default=None, max_length=100)
    employee_ranges: list[Annotated[str, Field(pattern=r"^\d+,\d*$")]] | None = None
    locations: list[str] | None = Field(default=None, max_length=100)
    technologies: list[str] | None = Field(default=None, max_length=100)
    keywords: list[str] | None = Field(default=None, max_length=100)
    revenue_min: int | None = Field(default=None, ge=0)
    revenue_max: int | None = Field(default=None, ge=0)


class SourceLeadsInput(_Input):
    agent_id: uuid.UUID | None = None
    icp: IcpOverride | None = None
    max_pages: int | None = Field(default=None, ge=1, le=50)
    per_page: int = Field(default=25, ge=1, le=100)
    run_pipeline: bool = False
    """Hand every imported account on to enrichment → contact_finder → scoring → outreach."""
    pipeline_agents: dict[AgentType, uuid.UUID] = Field(default_factory=dict)
    contacts_per_account: int = Field(default=2, ge=1, le=20)


class EnrichAccountInput(_Input):
    account_id: uuid.UUID
    agent_id: uuid.UUID | None = None
    pipeline: PipelineSpec | None = None


class FindContactsInput(_Input):
    account_id: uuid.UUID
    agent_id: uuid.UUID | None = None
    pipeline: PipelineSpec | None = None


class ScoreRecordsInput(_Input):
    """Score an account with its contacts and open opportunities."""

    account_id: uuid.UUID
    agent_id: uuid.UUID | None = None
    pipeline: PipelineSpec | None = None


class DraftOutreachInput(_Input):
    contact_id: uuid.UUID
    opportunity_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    channel: Channel = Channel.EMAIL
    tone: Tone | None = None
    """Unset: the agent's ``messageTone`` (else professional)."""
    max_words: int = Field(default=150, ge=30, le=400)
    pipeline: PipelineSpec | None = None


class DraftFollowupInput(_Input):
    """A follow-up on an earlier outreach draft; ``attempt`` counts follow-ups from 1."""

    draft_id: uuid.UUID
    attempt: int = Field(default=1, ge=1, le=10)
    agent_id: uuid.UUID | None = None
    followup_type: FollowupKind | None = None
    max_words: int = Field(default=120, ge=30, le=400)


class ClassifyReplyInput(_Input):
    """Classify an inbound reply and apply what its category means (suppression, metrics,
    resumed follow-ups); the reply row names the contact, send and agent."""

    reply_id: uuid.UUID


INPUT_MODELS: dict[str, type[BaseModel]] = {
    "source_leads": SourceLeadsInput,
    "enrich_account": EnrichAccountInput,
    "find_contacts": FindContactsInput,
    "score_records": ScoreRecordsInput,
    "draft_outreach": DraftOutreachInput,
    "draft_followup": DraftFollowupInput,
    "classify_reply": ClassifyReplyInput,
}


class InputInvalid(ValueError):
    """The task input does not fit its task type; ``errors`` lists each problem."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


def validate_task_input(agent_type: AgentType, task_type: str, raw: dict[str, Any]) -> BaseModel:
    """Validate ``raw`` against the model of ``task_type``; raise :class:`InputInvalid`."""
    if task_type not in TASK_TYPES[agent_type]:
        supported = ", ".join(sorted(TASK_TYPES[agent_type]))
        raise InputInvalid(
            f"task type {task_type!r} is not handled by agent type {agent_type.value!r} "
            f"(supported: {supported})"
        )
    model = INPUT_MODELS[task_type]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in err["loc"]) or "input", "message": err["msg"]}
            for err in exc.errors()
        ]
        summary = "; ".join(f"input.{e['field']}: {e['message']}" for e in errors)
        raise InputInvalid(f"invalid input for {task_type}: {summary}", errors) from None
