"""The migration and the models describe the same schema, and it migrates down and up."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from enum import StrEnum

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.agent_types import AgentType
from shared.db.base import Base
from shared.db.database import Database
from shared.db.migrate import alembic_config, upgrade_database
from shared.db.models import TENANT_TABLES, Task
from shared.lifecycles import (
    AgentStatus,
    ApprovalStatus,
    DraftStatus,
    TaskPriority,
    TaskStatus,
    TaskTrigger,
)
from shared.tenancy import CreatedKey
from tests.support import infra

pytestmark = pytest.mark.integration


@pytest.fixture
def scratch_database(run_resources: infra.RunResources) -> Iterator[str]:
    name = f"{run_resources.database}_m{uuid.uuid4().hex[:6]}"
    infra.create_database(name)
    try:
        yield infra.owner_url(name)
    finally:
        infra.drop_database(name)


def test_models_match_the_migrated_schema(
    settings: object, run_resources: infra.RunResources
) -> None:
    engine = sa.create_engine(infra.owner_url(run_resources.database))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_migration_downgrades_and_upgrades_again(scratch_database: str) -> None:
    upgrade_database(scratch_database)
    command.downgrade(alembic_config(scratch_database), "base")
    upgrade_database(scratch_database)
    engine = sa.create_engine(scratch_database)
    try:
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables


def test_every_tenant_table_has_an_index_leading_with_tenant_id(
    run_resources: infra.RunResources,
) -> None:
    engine = sa.create_engine(infra.owner_url(run_resources.database))
    try:
        inspector = sa.inspect(engine)
        for table in TENANT_TABLES:
            leading = [index["column_names"][0] for index in inspector.get_indexes(table)] + [
                constraint["column_names"][0]
                for constraint in inspector.get_unique_constraints(table)
            ]
            assert "tenant_id" in leading, table
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("table", "column", "states"),
    [
        ("tasks", "status", TaskStatus),
        ("tasks", "priority", TaskPriority),
        ("tasks", "trigger", TaskTrigger),
        ("tasks", "agent_type", AgentType),
        ("drafts", "status", DraftStatus),
        ("approval_items", "status", ApprovalStatus),
        ("agents", "status", AgentStatus),
    ],
)
def test_status_checks_list_exactly_the_lifecycle_states(
    run_resources: infra.RunResources, table: str, column: str, states: type[StrEnum]
) -> None:
    engine = sa.create_engine(infra.owner_url(run_resources.database))
    try:
        with engine.connect() as connection:
            definition = connection.execute(
                sa.text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :n"),
                {"n": f"ck_{table}_{column}_valid"},
            ).scalar_one()
    finally:
        engine.dispose()
    assert set(re.findall(r"'([a-z_.]+)'", definition)) == {state.value for state in states}


def test_a_status_outside_the_lifecycle_is_refused(db: Database, tenant: CreatedKey) -> None:
    with db.unit_of_work(tenant.tenant_id) as uow:
        uow.session.add(
            Task(
                tenant_id=tenant.tenant_id,
                agent_type="outreach",
                task_type="draft_outreach",
                status="half_done",
                input={},
            )
        )
        with pytest.raises(sa.exc.IntegrityError, match="ck_tasks_status_valid"):
            uow.commit()
