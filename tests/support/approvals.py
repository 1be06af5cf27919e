"""Writing a pending draft and approval item straight to the database (approval-queue tests)."""

from __future__ import annotations

import uuid

from services.demo.seed import SeededTarget
from shared.db.database import Database
from shared.db.models import ApprovalItem, Draft, Task
from shared.lifecycles import TaskStatus


def make_pending_item(db: Database, tenant_id: uuid.UUID, target: SeededTarget) -> uuid.UUID:
    task_id, draft_id, item_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            Task(
                id=task_id,
                tenant_id=tenant_id,
                agent_type="outreach",
                task_type="draft_outreach",
                status=TaskStatus.COMPLETED,
                input={"contact_id": str(target.contact_id)},
            )
        )
        uow.session.flush()
        uow.session.add(
            Draft(
                id=draft_id,
                tenant_id=tenant_id,
                task_id=task_id,
                step="draft",
                contact_id=target.contact_id,
                channel="email",
                subject="Hello",
                body=f"Hi {target.contact_name}",
                status="pending_approval",
            )
        )
        uow.session.flush()
        uow.session.add(
            ApprovalItem(
                id=item_id,
                tenant_id=tenant_id,
                agent_type="outreach",
                task_id=task_id,
                draft_id=draft_id,
                item_type="email_draft",
                title=f"Email to {target.contact_name}",
                content={"subject": "Hello", "body": f"Hi {target.contact_name}"},
            )
        )
        uow.commit()
    return item_id
