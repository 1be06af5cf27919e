"""Worker processes: one Dramatiq pool per agent type, the outbox relay and the scheduler."""
