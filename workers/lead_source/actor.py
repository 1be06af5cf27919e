"""The lead_source actor: thin glue from a queue message to the lead_source service."""

from __future__ import annotations

from shared.agent_types import AgentType
from workers.lead_source.service import source_leads
from workers.runtime.actors import agent_actor_declaration

__all__ = ["declare_lead_source_actor"]

declare_lead_source_actor = agent_actor_declaration(AgentType.LEAD_SOURCE, source_leads)
