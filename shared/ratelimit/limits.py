"""Provider limits as data: how much of what may be spent in which window, per credential."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from shared.settings import Settings

__all__ = ["LIMIT_SETTING_NAMES", "Limit", "LimitBook", "limits_from_settings"]

# What a credential may override, per provider (the settings' names without the provider).
LIMIT_SETTING_NAMES: dict[str, tuple[str, ...]] = {
    "openai": ("requests_per_minute", "tokens_per_minute"),
    "anthropic": ("requests_per_minute", "tokens_per_minute"),
    "gemini": ("requests_per_minute", "tokens_per_minute"),
    "apollo": ("requests_per_minute", "requests_per_hour", "requests_per_day"),
}

_MINUTE_S = 60.0
_HOUR_S = 3_600.0
_DAY_S = 86_400.0


@dataclass(frozen=True)
class Limit:
    """At most ``capacity`` units per ``window_s`` seconds.

    A limit whose name ends in ``tokens`` counts tokens; any other counts requests. The name
    also ties the limit to what a provider reports about it (see :mod:`.headers`).
    """

    name: str
    capacity: int
    window_s: float

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1")
        if self.window_s <= 0:
            raise ValueError("window_s must be positive")

    @property
    def counts_tokens(self) -> bool:
        """Whether a call costs its tokens here (else it costs one request)."""
        return self.name.endswith("tokens")

    def cost(self, tokens: int) -> int:
        """What one call with ``tokens`` tokens spends of this limit."""
        return max(tokens, 0) if self.counts_tokens else 1


def limits_from_settings(
    settings: Settings, provider: str, overrides: Mapping[str, int] | None = None
) -> list[Limit]:
    """The configured limits of one credential of ``provider`` (the starting point: providers'
    reported limits lower them at run time); ``overrides`` are the credential's own."""
    names = LIMIT_SETTING_NAMES.get(provider)
    if names is None:
        raise ValueError(f"no rate limits known for provider {provider!r}")
    chosen = {name: int(getattr(settings, f"{provider}_{name}")) for name in names}
    chosen.update({k: int(v) for k, v in (overrides or {}).items() if k in chosen and v})
    if provider == "apollo":
        # Apollo counts three fixed windows at once; a call must fit all of them.
        return [
            Limit("requests_minute", chosen["requests_per_minute"], _MINUTE_S),
            Limit("requests_hour", chosen["requests_per_hour"], _HOUR_S),
            Limit("requests_day", chosen["requests_per_day"], _DAY_S),
        ]
    return _llm(chosen["requests_per_minute"], chosen["tokens_per_minute"])


class LimitBook:
    """Limits per credential for this process: the settings, unless the credential (a tenant's
    own key) was stored with limits of its own."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._overrides: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def register(self, credential_key: str, overrides: Mapping[str, int]) -> None:
        with self._lock:
            self._overrides[credential_key] = dict(overrides)

    def limits(self, provider: str, credential_key: str) -> list[Limit]:
        # Apollo's keys carry the endpoint after the credential ("credential:…/people/match").
        base_key = credential_key.split("/", 1)[0]
        with self._lock:
            overrides = self._overrides.get(base_key)
        return limits_from_settings(self._settings, provider, overrides)


def _llm(requests_per_minute: int, tokens_per_minute: int) -> list[Limit]:
    return [
        Limit("requests", requests_per_minute, _MINUTE_S),
        Limit("tokens", tokens_per_minute, _MINUTE_S),
    ]
