"""Broker-setup module of the lead_source pool: ``dramatiq workers.pools.lead_source --queues
lead_source``.

Importing it builds the broker (which connects lazily) and declares the actor; the database
and HTTP clients are built after each worker process boots.
"""

from __future__ import annotations

from workers.lead_source.actor import declare_lead_source_actor
from workers.runtime.bootstrap import build_pool

broker, boot = build_pool([declare_lead_source_actor])
