"""Provider rate limiting: the gate every provider call passes, and its Redis implementation."""

from shared.ratelimit.build import build_call_gate, redis_client_from_settings
from shared.ratelimit.gate import CallGate, CallOutcome, CallPermit, OpenGate
from shared.ratelimit.limits import LIMIT_SETTING_NAMES, Limit, LimitBook, limits_from_settings
from shared.ratelimit.redis_gate import RedisCallGate
from shared.ratelimit.schedule import BackoffPolicy

__all__ = [
    "LIMIT_SETTING_NAMES",
    "BackoffPolicy",
    "CallGate",
    "CallOutcome",
    "CallPermit",
    "Limit",
    "LimitBook",
    "OpenGate",
    "RedisCallGate",
    "build_call_gate",
    "limits_from_settings",
    "redis_client_from_settings",
]
