"""Every agent type's actor declaration, for processes that run the whole fleet at once."""

from __future__ import annotations

from shared.agent_types import AgentType
from workers.contact_finder.actor import declare_contact_finder_actor
from workers.enrichment.actor import declare_enrichment_actor
from workers.followup.actor import declare_followup_actor
from workers.lead_source.actor import declare_lead_source_actor
from workers.outreach.actor import declare_outreach_actor
from workers.runtime.bootstrap import ActorDeclaration
from workers.scoring.actor import declare_scoring_actor

__all__ = ["FLEET"]

FLEET: dict[AgentType, ActorDeclaration] = {
    AgentType.LEAD_SOURCE: declare_lead_source_actor,
    AgentType.ENRICHMENT: declare_enrichment_actor,
    AgentType.CONTACT_FINDER: declare_contact_finder_actor,
    AgentType.SCORING: declare_scoring_actor,
    AgentType.OUTREACH: declare_outreach_actor,
    AgentType.FOLLOWUP: declare_followup_actor,
}
