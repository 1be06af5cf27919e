"""Per-run infrastructure for the test suite: its own database and its own RabbitMQ vhost."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

PG_HOST, PG_PORT = "127.0.0.1", 5432
RABBIT_HOST, RABBIT_PORT = "127.0.0.1", 5672
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
OWNER = "postgres"


def owner_url(database: str, driver: str = "postgresql+psycopg") -> str:
    return f"{driver}://{OWNER}@{PG_HOST}:{PG_PORT}/{database}"


def role_url(database: str, role: str) -> str:
    return f"postgresql+psycopg://{role}@{PG_HOST}:{PG_PORT}/{database}"


def require_services() -> None:
    """Fail loudly (never skip) when a service the integration tests need is down."""
    down = [
        name
        for name, host, port in (
            ("PostgreSQL", PG_HOST, PG_PORT),
            ("RabbitMQ", RABBIT_HOST, RABBIT_PORT),
            ("Redis", REDIS_HOST, REDIS_PORT),
        )
        if not _reachable(host, port)
    ]
    if down:
        raise RuntimeError(
            f"{', '.join(down)} not reachable on 127.0.0.1; start them (make services) and rerun"
        )


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class RunResources:
    run_id: str
    database: str
    vhost: str

    @property
    def metrics_dir(self) -> Path:
        """Where this run's worker pools keep their metric files."""
        return Path(tempfile.gettempdir()) / f"agentfleet-test-metrics-{self.run_id}"


def new_run_resources() -> RunResources:
    run_id = uuid.uuid4().hex[:10]
    return RunResources(
        run_id=run_id, database=f"agentfleet_test_{run_id}", vhost=f"agentfleet-test-{run_id}"
    )


def _admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=OWNER, dbname="postgres", autocommit=True
    )


def create_database(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _rabbitmqctl(*args: str) -> str:
    tool = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    done = subprocess.run([tool, "-q", *args], check=True, capture_output=True, timeout=60)
    return done.stdout.decode()


def messages_held(vhost: str, queue: str) -> int:
    """Messages in ``queue``, ready or delivered and not yet acknowledged."""
    listing = _rabbitmqctl("list_queues", "-p", vhost, "--no-table-headers", "name", "messages")
    for line in listing.splitlines():
        name, _, count = line.strip().partition("\t")
        if name == queue:
            return int(count)
    return 0


def create_vhost(vhost: str) -> None:
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")


def delete_vhost(vhost: str) -> None:
    _rabbitmqctl("delete_vhost", vhost)


def broker_url(vhost: str, port: int = RABBIT_PORT) -> str:
    return f"amqp://guest:guest@{RABBIT_HOST}:{port}/{vhost}"
