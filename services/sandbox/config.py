"""How the sandbox provider behaves, and the command-line options that set it.

Faults come by rate (a fraction of requests, drawn from a seeded generator) or by scenario:
a rate-limit storm for the next N seconds, an exhausted quota, or a queue of faults for the
next requests (``POST /_sandbox/scenario``, see :mod:`services.sandbox.state`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DRAFT_FAULTS",
    "FAULTS",
    "DraftFault",
    "Fault",
    "SandboxConfig",
    "add_sandbox_arguments",
    "config_from_args",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8700

Fault = Literal[
    "error",
    "timeout",
    "malformed",
    "wrong_schema",
    "trickle",
    "rate_limit",
    "quota",
    "invented_fact",
    "placeholder",
    "too_long",
]
FAULTS: tuple[Fault, ...] = (
    "error",
    "timeout",
    "malformed",
    "wrong_schema",
    "trickle",
    "rate_limit",
    "quota",
    "invented_fact",
    "placeholder",
    "too_long",
)
DraftFault = Literal["invented_fact", "placeholder", "too_long"]
"""Faults that spoil a draft's content while keeping it valid JSON of the right shape."""
DRAFT_FAULTS: tuple[DraftFault, ...] = ("invented_fact", "placeholder", "too_long")


@dataclass(frozen=True)
class SandboxConfig:
    """Latency, faults and limits of the sandbox; the defaults answer at once and never fail."""

    latency_ms: float = 0
    error_rate: float = 0
    """Fraction of requests answered with ``error_status`` (that provider's 5xx body)."""
    error_status: int = 500
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    timeout_rate: float = 0
    """Fraction of requests that hang ``hang_s`` (or until the client gives up) first."""
    hang_s: float = 120.0
    slow_trickle_rate: float = 0
    """Fraction of answers whose body is streamed slowly, spread over ``trickle_s``."""
    trickle_s: float = 2.0
    malformed_rate: float = 0
    """Fraction of answers whose content is cut-off, invalid JSON."""
    wrong_schema_rate: float = 0
    """Fraction of answers whose content is valid JSON that does not match the schema."""
    invented_fact_rate: float = 0
    """Fraction of drafts that state (and cite) a fact found nowhere in the prompt's context."""
    placeholder_rate: float = 0
    """Fraction of drafts that greet the contact with an unfilled ``[First Name]``."""
    too_long_rate: float = 0
    """Fraction of drafts padded past the context's ``max_words``."""
    rate_limit_storm_s: float = 0
    """For this many seconds (from start, or from when a scenario sets it) every request
    is answered 429 with that provider's retry hint set to ``storm_retry_after_s``."""
    storm_retry_after_s: float = 1.0
    quota_exhausted: bool = False
    """Answer every request with the provider's no-retry quota error (OpenAI
    ``insufficient_quota``, Anthropic ``enforced_spend_limit_reached``, Gemini quota 0)."""
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("latency_ms", "trickle_s", "rate_limit_storm_s", "storm_retry_after_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in (
            "error_rate",
            "timeout_rate",
            "slow_trickle_rate",
            "malformed_rate",
            "wrong_schema_rate",
            "invented_fact_rate",
            "placeholder_rate",
            "too_long_rate",
        ):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if not 500 <= self.error_status <= 599:
            raise ValueError("error_status must be a 5xx status")
        if self.hang_s <= 0:
            raise ValueError("hang_s must be positive")
        for name in ("requests_per_minute", "tokens_per_minute"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox's options (address, latency, faults, limits) to ``parser``."""
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay before every answer (ms)"
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        help="fraction of requests answered with a server error (0..1)",
    )
    parser.add_argument(
        "--error-status", type=int, default=500, help="status of injected server errors"
    )
    parser.add_argument(
        "--requests-per-minute",
        type=int,
        default=None,
        help="answer 429 beyond this many requests per minute and provider "
        "(a bucket that refills continuously)",
    )
    parser.add_argument(
        "--tokens-per-minute",
        type=int,
        default=None,
        help="answer 429 beyond this many tokens (prompt + max_tokens) per minute and provider",
    )
    parser.add_argument(
        "--timeout-rate", type=float, default=0.0, help="fraction of requests that hang first"
    )
    parser.add_argument("--hang-s", type=float, default=120.0, help="how long a hang lasts")
    parser.add_argument(
        "--slow-trickle-rate",
        type=float,
        default=0.0,
        help="fraction of answers streamed slowly",
    )
    parser.add_argument(
        "--trickle-s", type=float, default=2.0, help="time a trickled answer takes to arrive"
    )
    parser.add_argument(
        "--malformed-rate", type=float, default=0.0, help="fraction of answers that are bad JSON"
    )
    parser.add_argument(
        "--wrong-schema-rate",
        type=float,
        default=0.0,
        help="fraction of answers that are JSON off the requested schema",
    )
    parser.add_argument(
        "--invented-fact-rate",
        type=float,
        default=0.0,
        help="fraction of drafts that state a fact absent from the prompt's context",
    )
    parser.add_argument(
        "--placeholder-rate",
        type=float,
        default=0.0,
        help="fraction of drafts left with a placeholder such as [First Name]",
    )
    parser.add_argument(
        "--too-long-rate",
        type=float,
        default=0.0,
        help="fraction of drafts padded past the requested max_words",
    )
    parser.add_argument(
        "--rate-limit-storm-s",
        type=float,
        default=0.0,
        help="answer every request 429 for this many seconds after start",
    )
    parser.add_argument(
        "--storm-retry-after-s",
        type=float,
        default=1.0,
        help="the retry hint sent with storm 429s",
    )
    parser.add_argument(
        "--quota-exhausted",
        action="store_true",
        help="answer every request with the provider's no-retry quota error",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for fault injection and wording variation"
    )


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """The :class:`SandboxConfig` described by options added with :func:`add_sandbox_arguments`.

    Raises ``ValueError`` for out-of-range values.
    """
    return SandboxConfig(
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        error_status=args.error_status,
        requests_per_minute=args.requests_per_minute,
        tokens_per_minute=args.tokens_per_minute,
        timeout_rate=args.timeout_rate,
        hang_s=args.hang_s,
        slow_trickle_rate=args.slow_trickle_rate,
        trickle_s=args.trickle_s,
        malformed_rate=args.malformed_rate,
        wrong_schema_rate=args.wrong_schema_rate,
        invented_fact_rate=args.invented_fact_rate,
        placeholder_rate=args.placeholder_rate,
        too_long_rate=args.too_long_rate,
        rate_limit_storm_s=args.rate_limit_storm_s,
        storm_retry_after_s=args.storm_retry_after_s,
        quota_exhausted=args.quota_exhausted,
        seed=args.seed,
    )
