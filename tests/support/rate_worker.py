"""A worker process for the rate governor's acceptance test.

``python -m tests.support.rate_worker --base-url ... --redis-url ... --key-prefix ...``: from
``--start-at`` (epoch seconds) for ``--duration`` seconds, each of ``--threads`` threads loops
``gate.acquire`` → ``ChatCompletionsClient.complete_json`` → ``gate.release`` against the
sandbox, all processes sharing ``--requests-per-second`` through a RedisCallGate. Prints its
counts as one JSON line after ``RESULT_MARKER`` when done.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from typing import Any

from shared.errors import RateLimited
from shared.llm import (
    ChatCompletionsClient,
    ChatMessage,
    ProviderRateLimited,
    ProviderUnavailable,
)
from shared.logging import configure_logging
from shared.ratelimit import (
    CallGate,
    CallOutcome,
    Limit,
    RedisCallGate,
    redis_client_from_settings,
)
from shared.settings import Settings

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["answer"],
    "properties": {"answer": {"type": "string"}},
}
MESSAGES = [ChatMessage("system", "Answer briefly."), ChatMessage("user", "Say hello.")]
ESTIMATED_TOKENS = 100
PROVIDER, CREDENTIAL = "openai", "acceptance"
RESULT_MARKER = "RATE-WORKER-RESULT "


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--key-prefix", required=True)
    parser.add_argument("--requests-per-second", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--start-at", type=float, required=True)
    parser.add_argument("--duration", type=float, required=True)
    args = parser.parse_args(argv)

    settings = Settings(
        redis_url=args.redis_url,
        encryption_key="rate-worker-not-a-secret-0123456789abcdef",
        log_level="WARNING",
        log_json=False,
    )
    configure_logging(settings)
    redis = redis_client_from_settings(settings)
    limits = [
        Limit("requests", args.requests_per_second, 1.0),
        # Generous, so it never binds; it makes every call reserve and true up tokens.
        Limit("tokens", 1_000_000, 60.0),
    ]
    gate = RedisCallGate(
        redis,
        key_prefix=args.key_prefix,
        limits_for=lambda _provider, _credential: limits,
        max_inline_wait_s=5.0,
    )
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    end = args.start_at + args.duration
    # Clients (an SSL context each) and the Redis connection are made before the common
    # start, so that the first slots are not spent building them.
    clients = [_client(args.base_url) for _ in range(args.threads)]
    redis.ping()
    threads = [
        threading.Thread(target=_loop, args=(gate, client, end, counts, lock)) for client in clients
    ]
    time.sleep(max(args.start_at - time.time(), 0.0))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    redis.close()
    print(RESULT_MARKER + json.dumps(dict(counts)), flush=True)


def _client(base_url: str) -> ChatCompletionsClient:
    return ChatCompletionsClient(
        base_url=base_url,
        api_key="sandbox-key",
        model="gpt-4.1-mini",
        connect_timeout_s=5.0,
        read_timeout_s=10.0,
        total_timeout_s=10.0,
        max_attempts=1,  # every 429 must show, not be retried inside the client
    )


def _loop(
    gate: CallGate,
    client: ChatCompletionsClient,
    end: float,
    counts: Counter[str],
    lock: threading.Lock,
) -> None:
    while time.time() < end:
        try:
            permit = gate.acquire(
                provider=PROVIDER,
                credential_key=CREDENTIAL,
                tenant_id=None,
                estimated_tokens=ESTIMATED_TOKENS,
            )
        except RateLimited as exc:
            _count(counts, lock, "deferred")
            time.sleep(min(exc.delay_s, max(end - time.time(), 0.0)))
            continue
        if time.time() >= end:  # the slot came after the run: it goes unused
            gate.release(permit, CallOutcome(status=None))
            break
        gate.release(permit, _call(client, counts, lock))


def _call(client: ChatCompletionsClient, counts: Counter[str], lock: threading.Lock) -> CallOutcome:
    try:
        result = client.complete_json(MESSAGES, schema_name="answer", schema=SCHEMA)
    except ProviderRateLimited as exc:
        _count(counts, lock, "status_429")
        return CallOutcome(status=429, retry_after_s=exc.retry_after_s)
    except ProviderUnavailable as exc:
        _count(counts, lock, "unavailable")
        return CallOutcome(status=exc.status)
    _count(counts, lock, "ok")
    return CallOutcome(status=200, tokens_used=result.tokens_in + result.tokens_out)


def _count(counts: Counter[str], lock: threading.Lock, name: str) -> None:
    with lock:
        counts[name] += 1


if __name__ == "__main__":
    main()
