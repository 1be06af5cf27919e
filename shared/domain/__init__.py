"""State changes shared by the API, the workers and the CLI: plain functions on a unit of work."""
