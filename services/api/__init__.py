"""The ingest and approval HTTP API (FastAPI)."""
