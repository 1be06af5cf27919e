"""The contact_finder actor: thin glue from a queue message to the contact_finder service."""

from __future__ import annotations

from shared.agent_types import AgentType
from workers.contact_finder.service import find_contacts
from workers.runtime.actors import agent_actor_declaration

__all__ = ["declare_contact_finder_actor"]

declare_contact_finder_actor = agent_actor_declaration(AgentType.CONTACT_FINDER, find_contacts)
