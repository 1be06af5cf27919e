"""Broker-setup module of the sender pool: ``dramatiq workers.pools.sender --queues sender``.

Importing it builds the broker (which connects lazily) and declares the actor; the database
handle is built after each worker process boots. Each delivery holds two database connections
(its lock and its transactions): size ``db_pool_size`` to twice the threads.
"""

from __future__ import annotations

from workers.runtime.bootstrap import build_pool
from workers.sender.actor import declare_sender_actor

broker, boot = build_pool([declare_sender_actor])
