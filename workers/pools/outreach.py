"""Broker-setup module of the outreach pool: ``dramatiq workers.pools.outreach --queues outreach``.

Importing it builds the broker (which connects lazily) and declares the actor; the database
and HTTP clients are built after each worker process boots.
"""

from __future__ import annotations

from workers.outreach.actor import declare_outreach_actor
from workers.runtime.bootstrap import build_pool

broker, boot = build_pool([declare_outreach_actor])
