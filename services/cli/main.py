"""``agentfleet``: run the API, the relay, the sandbox provider and the demo; migrate; make keys;
and the operations commands (queues, approvals, dead letters, stuck tasks, usage)."""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable, Sequence

from services.cli.ops_commands import add_ops_commands
from services.cli.output import CommandError
from shared.roles import Role
from shared.settings import Settings, get_settings

__all__ = ["main"]


def _api(args: argparse.Namespace) -> int:
    import structlog
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from services.api.app import create_app
    from shared.logging import configure_logging
    from workers.runtime.signals import stop_on_signals

    settings = _settings_or_exit()
    configure_logging(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=args.host,
            port=args.port,
            log_level=settings.log_level.lower(),
            access_log=False,
            timeout_graceful_shutdown=args.grace_s,
        )
    )

    def drain() -> None:
        server.should_exit = True

    # On SIGTERM uvicorn closes its socket, lets requests in flight finish for up to --grace-s,
    # then raises the signal again to die by it; caught here, a drained API exits 0 instead.
    # ``drain`` covers a signal that comes before uvicorn's own handlers are in place.
    with stop_on_signals(on_stop=drain) as stop:
        server.run()
    structlog.get_logger(__name__).info("api.exited", signals=stop.received)
    return 0 if server.started else STARTUP_FAILURE


def _relay(_args: argparse.Namespace) -> int:
    from shared.logging import configure_logging
    from workers.relay.main import run_relay

    settings = _settings_or_exit()
    configure_logging(settings)
    run_relay(settings)
    return 0


def _scheduler(_args: argparse.Namespace) -> int:
    from shared.logging import configure_logging
    from workers.scheduler.main import run_scheduler

    settings = _settings_or_exit()
    configure_logging(settings)
    run_scheduler(settings)
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from services.sandbox.config import config_from_args
    from services.sandbox.server import run_sandbox

    run_sandbox(config_from_args(args), host=args.host, port=args.port)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from shared.db.migrate import upgrade_database

    upgrade_database(_settings_or_exit().migration_url(), args.revision)
    print(f"database migrated to {args.revision}")
    return 0


def _create_tenant(args: argparse.Namespace) -> int:
    from shared.db.database import open_database
    from shared.tenancy import create_api_key, create_tenant

    db = open_database(_settings_or_exit().database_url, pool_size=1)
    try:
        tenant_id = create_tenant(db, args.name)
        key = create_api_key(db, tenant_id, name="initial", role=Role.ADMIN)
    finally:
        db.dispose()
    print(f"tenant_id: {tenant_id}")
    print(f"api_key:   {key.token}   (shown once; store it now)")
    return 0


def _create_key(args: argparse.Namespace) -> int:
    from shared.db.database import open_database
    from shared.tenancy import create_api_key

    db = open_database(_settings_or_exit().database_url, pool_size=1)
    try:
        key = create_api_key(db, args.tenant_id, name=args.name, role=Role(args.role))
    finally:
        db.dispose()
    print(f"api_key: {key.token}   (role {key.role.value}; shown once)")
    return 0


def _rotate_credentials(_args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from shared.credentials import credential_cipher, rotate_credentials
    from shared.db.database import open_database
    from shared.db.models import Tenant

    settings = _settings_or_exit()
    cipher = credential_cipher(settings)
    owner = open_database(settings.migration_url(), pool_size=1)
    app = open_database(settings.database_url, pool_size=1)
    try:
        with owner.unit_of_work() as uow:
            tenant_ids = uow.session.scalars(sa.select(Tenant.id)).all()
        rotated, unreadable = 0, []
        for number, tenant_id in enumerate(tenant_ids, start=1):
            # Row-level security scopes the application role to one tenant per transaction.
            with app.unit_of_work(tenant_id) as uow:
                result = rotate_credentials(uow, cipher)
                uow.commit()
            rotated += result.rotated
            unreadable += [(tenant_id, credential) for credential in result.unreadable]
            print(f"\r{number}/{len(tenant_ids)} tenants", end="", flush=True)
    finally:
        owner.dispose()
        app.dispose()
    print(f"\nre-encrypted {rotated} credentials under key {cipher.current_key_id}")
    for tenant_id, credential_id in unreadable:
        print(
            f"unreadable: credential {credential_id} of tenant {tenant_id} is under a key that "
            "is not configured (add it to AGENTFLEET_ENCRYPTION_PREVIOUS_KEYS)",
            file=sys.stderr,
        )
    return 1 if unreadable else 0


def _demo(args: argparse.Namespace) -> int:
    from services.demo.run import run_demo

    return run_demo(tasks=args.tasks, workdir=args.workdir)


def _parser() -> argparse.ArgumentParser:
    from services.sandbox.config import add_sandbox_arguments

    parser = argparse.ArgumentParser(prog="agentfleet", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    api = commands.add_parser("api", help="serve the HTTP API")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--grace-s", type=int, default=20, help="drain time on SIGTERM")
    api.set_defaults(run=_api)

    commands.add_parser("relay", help="run the outbox relay").set_defaults(run=_relay)
    commands.add_parser(
        "scheduler", help="run the scheduler (cron runs, due follow-ups, approval expiry)"
    ).set_defaults(run=_scheduler)

    sandbox = commands.add_parser("sandbox", help="serve the sandbox LLM provider")
    add_sandbox_arguments(sandbox)
    sandbox.set_defaults(run=_sandbox)

    migrate = commands.add_parser("migrate", help="apply database migrations (as the owner)")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(run=_migrate)

    tenant = commands.add_parser("create-tenant", help="create a tenant and an admin API key")
    tenant.add_argument("name")
    tenant.set_defaults(run=_create_tenant)

    key = commands.add_parser("create-key", help="create an API key for a tenant")
    key.add_argument("tenant_id", type=uuid.UUID)
    key.add_argument("--name", default="cli")
    key.add_argument("--role", choices=[r.value for r in Role], default=Role.SALES_REP.value)
    key.set_defaults(run=_create_key)

    commands.add_parser(
        "rotate-credentials",
        help="re-encrypt provider credentials under the current encryption key",
    ).set_defaults(run=_rotate_credentials)

    demo = commands.add_parser("demo", help="run the embedded demo (no external services)")
    demo.add_argument("--tasks", type=int, default=24)
    demo.add_argument("--workdir", default=None, help="where the demo's SQLite file lives")
    demo.set_defaults(run=_demo)

    add_ops_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except CommandError as exc:
        print(f"agentfleet {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:
        print(f"agentfleet: invalid configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    sys.exit(main())
