"""The follow-up actor: thin glue from a queue message to the follow-up service."""

from __future__ import annotations

from shared.agent_types import AgentType
from workers.followup.service import draft_followup
from workers.runtime.actors import agent_actor_declaration

__all__ = ["declare_followup_actor"]

declare_followup_actor = agent_actor_declaration(AgentType.FOLLOWUP, draft_followup)
