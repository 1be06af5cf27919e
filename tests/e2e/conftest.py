"""End-to-end fixtures: the API, the relay, an outreach pool started with the ``dramatiq`` CLI
and the sandbox provider, each its own process, wired through a broker proxy the test controls."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pika
import pytest

from shared.broker.topology import declare_events_exchange
from shared.settings import Settings
from tests.support.infra import RABBIT_HOST, RABBIT_PORT, broker_url
from tests.support.processes import (
    BIN,
    ProcessGroup,
    http_ok,
    process_group,
    settings_environment,
    wait_until,
)
from tests.support.servers import free_port
from tests.support.tcp_proxy import TcpProxy


@dataclass
class Stack:
    api_url: str
    sandbox_url: str
    settings: Settings
    processes: ProcessGroup
    broker_proxy: TcpProxy
    env: dict[str, str]

    def start_worker(self, name: str = "outreach", queue: str = "outreach") -> None:
        """One ``dramatiq`` process of the agent type's pool, consuming its queue."""
        self.processes.start(
            name,
            [
                str(BIN / "dramatiq"),
                f"workers.pools.{queue}",
                "--processes",
                "1",
                "--threads",
                "4",
                "--queues",
                queue,
            ],
            self.env,
        )

    def start_relay(self, name: str = "relay") -> None:
        self.processes.start(name, [str(BIN / "agentfleet"), "relay"], self.env)

    def start_scheduler(self, name: str = "scheduler") -> None:
        self.processes.start(name, [str(BIN / "agentfleet"), "scheduler"], self.env)


def consumers_on(url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        declared = connection.channel().queue_declare(queue, passive=True)
        return int(declared.method.consumer_count)
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        if connection.is_open:
            connection.close()


@pytest.fixture(scope="module")
def stack(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir: Path = tmp_path_factory.mktemp("e2e-logs")
    vhost = settings.broker_url.rsplit("/", 1)[1]
    with TcpProxy(RABBIT_HOST, RABBIT_PORT) as proxy, process_group(log_dir) as group:
        sandbox_port, api_port = free_port(), free_port()
        stack_settings = settings.model_copy(
            update={
                "broker_url": broker_url(vhost, proxy.port),
                "openai_base_url": f"http://127.0.0.1:{sandbox_port}/v1",
                "apollo_base_url": f"http://127.0.0.1:{sandbox_port}/api/v1",
                # Rate-limit state of its own: earlier tests' calls on the platform key must
                # not throttle this stack's providers.
                "redis_key_prefix": f"{settings.redis_key_prefix}-e2e-{uuid.uuid4().hex[:6]}",
                "outbox_poll_interval_s": 1.0,
                "worker_min_backoff_ms": 200,
                "log_json": True,
            }
        )
        env = settings_environment(stack_settings)
        group.start(
            "sandbox", [str(BIN / "agentfleet"), "sandbox", "--port", str(sandbox_port)], env
        )
        group.start("api", [str(BIN / "agentfleet"), "api", "--port", str(api_port)], env)
        stack = Stack(
            api_url=f"http://127.0.0.1:{api_port}",
            sandbox_url=f"http://127.0.0.1:{sandbox_port}",
            settings=stack_settings,
            processes=group,
            broker_proxy=proxy,
            env=env,
        )
        stack.start_relay()
        stack.start_worker()
        wait_until(http_ok(f"{stack.sandbox_url}/healthz"), 30, "the sandbox provider")
        wait_until(http_ok(f"{stack.api_url}/healthz"), 30, "the API")
        wait_until(lambda: consumers_on(settings.broker_url, "outreach") > 0, 60, "the worker")
        group.assert_running()
        _declare_events_exchange(settings.broker_url, settings.events_exchange)
        yield stack


def _declare_events_exchange(url: str, exchange: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        declare_events_exchange(connection.channel(), exchange)
    finally:
        connection.close()
