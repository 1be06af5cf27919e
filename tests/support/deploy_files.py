"""Reading the repository's deployment files (compose.yaml, deploy/) for the deploy tests."""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import yaml

from shared.agent_types import AgentType
from shared.settings import Settings

__all__ = [
    "POOLS",
    "REPO",
    "SECRET_SETTINGS",
    "SETTINGS_ENV",
    "compose_services",
    "load_yaml",
    "load_yaml_documents",
    "parse_duration_s",
]

REPO = Path(__file__).resolve().parents[2]

# Every worker pool: one per agent type, plus the sender.
POOLS = frozenset({*(t.value for t in AgentType), "sender"})

SETTINGS_ENV = frozenset(f"AGENTFLEET_{name.upper()}" for name in Settings.model_fields)

# Settings that hold a secret: SecretStr fields and connection URLs that carry passwords.
_SECRET_URLS = (
    "database_url",
    "relay_database_url",
    "scheduler_database_url",
    "migration_database_url",
    "broker_url",
    "redis_url",
)
SECRET_SETTINGS = frozenset(
    f"AGENTFLEET_{name.upper()}"
    for name, field in Settings.model_fields.items()
    if "SecretStr" in str(field.annotation) or name in _SECRET_URLS
)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _parsed(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.load_all(handle, Loader=_Loader) if doc is not None]


def load_yaml(path: Path) -> Any:
    """One YAML document (merge keys resolved); a fresh copy on every call."""
    (document,) = _parsed(path.resolve())
    return copy.deepcopy(document)


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    """Every non-empty document of a multi-document YAML file; fresh copies on every call."""
    return copy.deepcopy(_parsed(path.resolve()))


def compose_services() -> dict[str, dict[str, Any]]:
    """compose.yaml's services, with its anchors and merge keys resolved."""
    services: dict[str, dict[str, Any]] = load_yaml(REPO / "compose.yaml")["services"]
    return services


_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration_s(text: str) -> float:
    """A compose / Prometheus duration such as ``60s``, ``1m30s`` or ``500ms``, in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)
