"""The price of one provider call, from the price table in settings."""

from __future__ import annotations

from decimal import Decimal

from shared.settings import Settings

__all__ = ["call_cost_usd"]

_MILLION = Decimal(1_000_000)
_CENT_FRACTION = Decimal("0.000001")


def call_cost_usd(
    settings: Settings,
    *,
    provider: str,
    model: str | None,
    tokens_in: int,
    tokens_out: int,
    credits: int,
) -> Decimal:
    """USD for the call; a model missing from the price table costs nothing (and is logged)."""
    if provider == "apollo":
        return (Decimal(str(settings.apollo_credit_price_usd)) * credits).quantize(_CENT_FRACTION)
    prices = settings.llm_prices_per_mtok.get(model or "")
    if prices is None:
        return Decimal(0)
    per_in, per_out = (Decimal(str(p)) for p in prices)
    cost = (per_in * tokens_in + per_out * tokens_out) / _MILLION
    return cost.quantize(_CENT_FRACTION)
