"""The outreach actor: thin glue from a queue message to the outreach service."""

from __future__ import annotations

from shared.agent_types import AgentType
from workers.outreach.service import draft_outreach
from workers.runtime.actors import agent_actor_declaration

__all__ = ["declare_outreach_actor"]

declare_outreach_actor = agent_actor_declaration(AgentType.OUTREACH, draft_outreach)
