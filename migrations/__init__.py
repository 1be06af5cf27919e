"""Alembic migrations of the agentfleet schema (run as the schema owner)."""
