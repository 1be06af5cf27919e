"""Entry modules for the ``dramatiq`` CLI, one per pool: ``dramatiq workers.pools.outreach``."""
