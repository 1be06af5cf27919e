"""The scoring actor: thin glue from a queue message to the scoring service."""

from __future__ import annotations

from shared.agent_types import AgentType
from workers.runtime.actors import agent_actor_declaration
from workers.scoring.service import score_records

__all__ = ["declare_scoring_actor"]

declare_scoring_actor = agent_actor_declaration(AgentType.SCORING, score_records)
