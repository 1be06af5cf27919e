"""Broker-setup module of the contact_finder pool: ``dramatiq workers.pools.contact_finder
--queues contact_finder``.

Importing it builds the broker (which connects lazily) and declares the actor; the database
and HTTP clients are built after each worker process boots.
"""

from __future__ import annotations

from workers.contact_finder.actor import declare_contact_finder_actor
from workers.runtime.bootstrap import build_pool

broker, boot = build_pool([declare_contact_finder_actor])
