"""Run the Alembic migrations programmatically (the CLI's ``migrate`` and the test setup)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["alembic_config", "upgrade_database"]

_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["url"] = url
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` (an owner connection) up to ``revision``."""
    command.upgrade(alembic_config(url), revision)
