"""Broker-setup module of the scoring pool: ``dramatiq workers.pools.scoring --queues scoring``.

Importing it builds the broker (which connects lazily) and declares the actor; the database
is opened after each worker process boots.
"""

from __future__ import annotations

from workers.runtime.bootstrap import build_pool
from workers.scoring.actor import declare_scoring_actor

broker, boot = build_pool([declare_scoring_actor])
