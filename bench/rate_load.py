"""One worker process of the rate-governor benchmark (``python -m bench.rate_load``).

A Dramatiq worker (StubBroker, the project's retry policy: 5 retries, 1 s minimum backoff)
with ``--threads`` threads works through ``--backlog`` messages, each one chat completion
against the sandbox, from ``--start-at`` for ``--duration`` seconds. Provider calls are
limited one of three ways, shared by every process through Redis:

* ``gate``: :class:`~shared.ratelimit.RedisCallGate` (waits for its slot; a long wait raises
  ``RateLimited``, which the project defers without spending a retry);
* ``window`` / ``bucket``: Dramatiq's ``WindowRateLimiter`` / ``BucketRateLimiter`` on its
  ``RedisBackend``, as an actor uses them: ``with limiter.acquire():`` raises
  ``RateLimitExceeded`` when full, and the Retries middleware retries the message later.

A 429 from the provider is deferred (re-sent with its delay, no retry spent) in every mode.
Prints its counts as one JSON line after ``RESULT_MARKER``.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.stub import StubBroker
from dramatiq.errors import RateLimitExceeded
from dramatiq.middleware import Retries
from dramatiq.rate_limits import BucketRateLimiter, RateLimiter, WindowRateLimiter
from dramatiq.rate_limits.backends import RedisBackend

from shared.errors import RateLimited
from shared.llm import ChatCompletionsClient, ChatMessage, ProviderRateLimited
from shared.ratelimit import CallOutcome, Limit, RedisCallGate

RESULT_MARKER = "RATE-LOAD-RESULT "
MAX_RETRIES, MIN_BACKOFF_MS = 5, 1_000  # the project's defaults (task_max_retries, ...)
WARM_UP_S = 1.0
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["answer"],
    "properties": {"answer": {"type": "string"}},
}
MESSAGES = [ChatMessage("system", "Answer briefly."), ChatMessage("user", "Say hello.")]


class Load:
    """The counters and per-thread clients of one benchmark process."""

    def __init__(self, base_url: str, *, threads: int, start: float, end: float) -> None:
        self.start = start
        self.end = end
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._local = threading.local()
        # Built before the start (an SSL context each): a thread that built its client after
        # taking a slot would send late, and a late request squeezes the next window.
        self.clients = [_chat_client(base_url) for _ in range(threads)]
        self._unclaimed = list(self.clients)
        self.defer: Callable[[float], object] = lambda _delay_s: None
        """Send the message again after a delay, spending no retry (the project's deferral)."""

    def count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def client(self) -> ChatCompletionsClient:
        client: ChatCompletionsClient | None = getattr(self._local, "client", None)
        if client is None:
            with self._lock:
                client = self._unclaimed.pop()
            self._local.client = client
        return client

    def call(self) -> CallOutcome:
        """One chat completion; a 429 is counted and its outcome returned, not raised."""
        try:
            result = self.client().complete_json(MESSAGES, schema_name="answer", schema=SCHEMA)
        except ProviderRateLimited as exc:
            self.count("status_429")
            return CallOutcome(status=429, retry_after_s=exc.retry_after_s)
        self.count("ok")
        return CallOutcome(status=200, tokens_used=result.tokens_in + result.tokens_out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["gate", "window", "bucket"], required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--key-prefix", required=True)
    parser.add_argument("--rate", type=int, default=10, help="requests per second, all processes")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--backlog", type=int, required=True)
    parser.add_argument("--start-at", type=float, required=True)
    parser.add_argument("--duration", type=float, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)

    client = redis.Redis(
        connection_pool=redis.BlockingConnectionPool.from_url(args.redis_url, max_connections=32)
    )
    load = Load(
        args.base_url,
        threads=args.threads,
        start=args.start_at,
        end=args.start_at + args.duration,
    )
    broker = StubBroker(middleware=[Retries(max_retries=MAX_RETRIES, min_backoff=MIN_BACKOFF_MS)])
    dramatiq.set_broker(broker)
    handler = (
        _gate_handler(load, _gate(client, args))
        if args.mode == "gate"
        else _limiter_handler(load, _limiter(client, args))
    )
    actor = dramatiq.actor(broker=broker, actor_name="call_provider", queue_name="bench")(handler)

    load.defer = lambda delay_s: actor.send_with_options(delay=max(int(delay_s * 1000), 1))
    for _ in range(args.backlog):
        actor.send()
    client.ping()
    worker = dramatiq.Worker(broker, worker_threads=args.threads, worker_timeout=100)
    time.sleep(max(args.start_at - WARM_UP_S - time.time(), 0.0))
    worker.start()  # its threads hold their first message until the start
    time.sleep(max(load.end - time.time(), 0.0))
    worker.stop(timeout=10_000)
    load.counts["dead_lettered"] = len(broker.dead_letters)
    broker.close()
    for chat in load.clients:
        chat.close()
    client.close()
    print(RESULT_MARKER + json.dumps(dict(load.counts)), flush=True)


def _chat_client(base_url: str) -> ChatCompletionsClient:
    return ChatCompletionsClient(
        base_url=base_url,
        api_key="sandbox-key",
        model="gpt-4.1-mini",
        connect_timeout_s=5.0,
        read_timeout_s=10.0,
        total_timeout_s=10.0,
        max_attempts=1,  # a 429 must reach the counters, not be retried inside
    )


def _gate(client: redis.Redis, args: argparse.Namespace) -> RedisCallGate:
    limits = [Limit("requests", args.rate, 1.0)]
    return RedisCallGate(
        client,
        key_prefix=args.key_prefix,
        limits_for=lambda _provider, _credential: limits,
        max_inline_wait_s=5.0,
    )


def _limiter(client: redis.Redis, args: argparse.Namespace) -> RateLimiter:
    backend = RedisBackend(client=client)
    key = f"{args.key_prefix}:dramatiq"
    if args.mode == "window":
        return WindowRateLimiter(backend, key, limit=args.rate, window=1)  # type: ignore[no-untyped-call]
    return BucketRateLimiter(backend, key, limit=args.rate, bucket=1_000)  # type: ignore[no-untyped-call]


def _gate_handler(load: Load, gate: RedisCallGate) -> Callable[[], None]:
    def call_provider() -> None:
        time.sleep(max(load.start - time.time(), 0.0))
        if time.time() >= load.end:
            return
        try:
            permit = gate.acquire(
                provider="openai", credential_key="bench", tenant_id=None, estimated_tokens=100
            )
        except RateLimited as exc:
            load.count("deferred")
            load.defer(exc.delay_s)
            return
        if time.time() >= load.end:
            gate.release(permit, CallOutcome(status=None))
            return
        outcome = load.call()
        gate.release(permit, outcome)
        if outcome.status == 429:
            load.defer(outcome.retry_after_s or 1.0)

    return call_provider


def _limiter_handler(load: Load, limiter: RateLimiter) -> Callable[[], None]:
    def call_provider() -> None:
        time.sleep(max(load.start - time.time(), 0.0))
        if time.time() >= load.end:
            return
        try:
            with limiter.acquire(raise_on_failure=True):
                outcome = load.call()
        except RateLimitExceeded:
            load.count("rejected")  # the Retries middleware spends one retry on it
            raise
        if outcome.status == 429:
            load.defer(outcome.retry_after_s or 1.0)

    return call_provider


if __name__ == "__main__":
    main()
