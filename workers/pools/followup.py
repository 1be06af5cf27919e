"""Broker-setup module of the follow-up pool: ``dramatiq workers.pools.followup --queues followup``.

Importing it builds the broker (which connects lazily) and declares the actor; the database
and HTTP clients are built after each worker process boots.
"""

from __future__ import annotations

from workers.followup.actor import declare_followup_actor
from workers.runtime.bootstrap import build_pool

broker, boot = build_pool([declare_followup_actor])
