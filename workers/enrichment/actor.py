"""The enrichment actor: thin glue from a queue message to the enrichment service."""

from __future__ import annotations

from shared.agent_types import AgentType
from workers.enrichment.service import enrich_account
from workers.runtime.actors import agent_actor_declaration

__all__ = ["declare_enrichment_actor"]

declare_enrichment_actor = agent_actor_declaration(AgentType.ENRICHMENT, enrich_account)
