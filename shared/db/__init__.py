"""Database access: typed models, engines, the unit of work and dialect adapters."""
