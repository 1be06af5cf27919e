"""Broker-setup module of the enrichment pool:
``dramatiq workers.pools.enrichment --queues enrichment``.

Importing it builds the broker (which connects lazily) and declares the actor; the database
and HTTP clients are built after each worker process boots.
"""

from __future__ import annotations

from workers.enrichment.actor import declare_enrichment_actor
from workers.runtime.bootstrap import build_pool

broker, boot = build_pool([declare_enrichment_actor])
