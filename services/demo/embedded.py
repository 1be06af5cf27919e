"""Embedded mode: the production components wired to in-process stand-ins on one machine.

SQLite replaces Postgres, Dramatiq's stub broker with in-process worker threads replaces
RabbitMQ, and the sandbox provider serves on loopback. The API, the relay, all six agents'
actors and services are the production code; only the adapters differ (see ``DIFFERENCES``).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from fastapi import FastAPI

from services.api.app import create_app
from services.demo.mail_sink import MailSink
from services.sandbox.config import SandboxConfig
from services.sandbox.server import SandboxHandle, start_sandbox_in_thread
from shared.credentials import credential_cipher
from shared.db.base import Base
from shared.db.database import Database, open_database
from shared.logging import configure_logging
from shared.ratelimit import OpenGate
from shared.settings import Settings
from workers.fleet import FLEET
from workers.relay.publishers import InProcessPublisher
from workers.relay.relay import Relay
from workers.relay.wakeup import EngineCommitWakeup
from workers.runtime.broker import pool_middleware
from workers.runtime.context import WorkerBoot, WorkerContext
from workers.runtime.dead_letters import InProcessDeadLetters
from workers.runtime.providers import ProviderAccess
from workers.sender.actor import declare_sender_actor

__all__ = ["DIFFERENCES", "EmbeddedStack", "start_embedded"]

DIFFERENCES = (
    "database: SQLite file (no row-level security: the tenant filter in every query is the "
    "only wall; no SKIP LOCKED: SQLite serialises writers)",
    "broker: Dramatiq in-process stub broker with worker threads (no broker priorities)",
    "relay wake-up: commit hook on the engine instead of Postgres LISTEN/NOTIFY",
    "events: collected in memory instead of the agentfleet.events exchange",
    "provider rate limits: not enforced (the rate governor lives in Redis)",
    "scheduler: not running (no cron runs, held follow-ups stay held)",
    "mail: approved email goes to an SMTP sink inside this process; nothing leaves the machine",
    "sender locks: a process-local lock instead of the Postgres advisory lock",
)


@dataclass
class EmbeddedStack:
    settings: Settings
    db: Database
    broker: StubBroker
    dead_letters: InProcessDeadLetters
    sandbox: SandboxHandle
    mail: MailSink
    events: list[dict[str, Any]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _closers: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        for close in reversed(self._closers):
            close()
        self.sandbox.stop()
        self.mail.stop()
        self.db.dispose()


def start_embedded(workdir: Path, *, worker_threads: int = 8) -> EmbeddedStack:
    """Start the sandbox, the database, every agent's pool and the relay in this process."""
    workdir.mkdir(parents=True, exist_ok=True)
    database_file = workdir / "agentfleet.db"
    database_file.unlink(missing_ok=True)
    sandbox = start_sandbox_in_thread(SandboxConfig())
    mail = MailSink()
    mail.start()
    settings = Settings(
        database_url=f"sqlite:///{database_file}",
        openai_base_url=sandbox.base_url,
        apollo_base_url=sandbox.provider_base_url("apollo"),
        encryption_key=secrets.token_urlsafe(32),
        db_pool_size=worker_threads + 4,
        outbox_poll_interval_s=0.5,
        smtp_host=mail.host,
        smtp_port=mail.port,
        smtp_security="none",
        mail_from="sam@demo.agentfleet.example",
        mail_from_name="Sam from agentfleet",
        log_json=False,
        log_level="WARNING",
    )
    configure_logging(settings)
    db = open_database(settings.database_url, pool_size=settings.db_pool_size)
    Base.metadata.create_all(db.engine)

    broker = StubBroker(middleware=pool_middleware(settings))
    dead_letters = InProcessDeadLetters(broker)
    stack = EmbeddedStack(settings, db, broker, dead_letters, sandbox, mail)
    providers = ProviderAccess(settings, db, credential_cipher(settings), OpenGate())
    boot = WorkerBoot(lambda: WorkerContext(settings, db, dead_letters, providers))
    broker.add_middleware(boot)
    for declare in (*FLEET.values(), declare_sender_actor):
        declare(broker, boot)
    boot.start()
    worker = dramatiq.Worker(broker, worker_threads=worker_threads, worker_timeout=100)
    worker.start()
    stack._closers.extend([boot.stop, worker.stop])

    wakeup = EngineCommitWakeup(db.engine)
    relay = Relay(
        db,
        InProcessPublisher(broker, stack.events.append),
        wakeup,
        batch_size=settings.outbox_batch_size,
        lease_s=settings.outbox_claim_ttl_s,
        poll_interval_s=settings.outbox_poll_interval_s,
        backoff_max_s=settings.relay_reconnect_max_s,
    )
    relay_thread = threading.Thread(target=relay.run, args=(stack._stop,), daemon=True)
    relay_thread.start()
    stack._threads.append(relay_thread)
    stack._closers.append(wakeup.close)
    return stack


def embedded_api(stack: EmbeddedStack) -> FastAPI:
    """The production API app, sharing the embedded database handle."""
    return create_app(stack.settings, db=stack.db)
