"""Request and response bodies of the approval queue API (``/v1/approvals``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.db.models import (
    Account,
    ApprovalItem,
    Contact,
    Draft,
    MessageSend,
    Opportunity,
)
from shared.domain.approval_bulk import MAX_BULK_ITEMS, BulkOutcome, BulkResult
from shared.domain.approval_edits import MAX_BODY_CHARS, MAX_SUBJECT_CHARS, ContentEdit
from shared.domain.approval_queries import ApprovalDetail, ApprovalStats

__all__ = [
    "ApprovalDetailOut",
    "ApprovalItemOut",
    "ApprovalPage",
    "ApprovalStatsOut",
    "ApproveBody",
    "BulkApproveBody",
    "BulkOut",
    "BulkRejectBody",
    "DecisionOut",
    "RejectBody",
]

SYSTEM_REVIEWER = "system"
Out = TypeVar("Out", bound=BaseModel)


class ApprovalItemOut(BaseModel):
    """An item as the queue lists it."""

    id: uuid.UUID
    item_type: str
    agent_type: str
    agent_id: uuid.UUID | None
    task_id: uuid.UUID | None
    draft_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    account_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None
    priority: str
    title: str
    status: str
    stale: bool
    stale_reason: str | None
    content: dict[str, Any]
    rejection_reason: str | None
    expires_at: datetime | None
    created_at: datetime
    reviewed_at: datetime | None
    reviewer: str | None = Field(
        description="The reviewing user's id, else the API key's; 'system' for auto-approval."
    )
    version: int

    @classmethod
    def of(cls, item: ApprovalItem) -> Self:
        return cls.model_validate(_item_fields(item))


_DERIVED = frozenset({"stale", "reviewer"})


def _item_fields(item: ApprovalItem) -> dict[str, Any]:
    reviewer = item.reviewer_user_id or item.reviewer_key_id
    fields = {name: getattr(item, name) for name in ApprovalItemOut.model_fields.keys() - _DERIVED}
    fields["stale"] = item.stale_at is not None
    fields["reviewer"] = (
        str(reviewer) if reviewer else (SYSTEM_REVIEWER if item.reviewed_at else None)
    )
    return fields


class ApprovalPage(BaseModel):
    items: list[ApprovalItemOut]
    total: int
    limit: int
    offset: int


class SendOut(BaseModel):
    """The draft's one send (``send:{draft_id}``)."""

    id: uuid.UUID
    status: str
    channel: str
    to_address: str | None
    message_id: str
    sent_at: datetime | None

    @classmethod
    def of(cls, send: MessageSend | None) -> SendOut | None:
        return None if send is None else cls.model_validate(send, from_attributes=True)


class DecisionOut(ApprovalItemOut):
    """The decided item, with the edit kept and the send an approval queued."""

    edited_content: dict[str, Any] | None
    send: SendOut | None

    @classmethod
    def decided(cls, item: ApprovalItem, send: MessageSend | None) -> DecisionOut:
        return cls.model_validate(
            {**_item_fields(item), "edited_content": item.edited_content, "send": SendOut.of(send)}
        )


class ApproveBody(BaseModel):
    """Optional: the version the reviewer saw, and edited text (the draft keeps what is left
    out). An edit that changes nothing is a plain approval."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1)
    subject: str | None = Field(default=None, min_length=1, max_length=MAX_SUBJECT_CHARS)
    body: str | None = Field(default=None, min_length=1, max_length=MAX_BODY_CHARS)

    def edit(self) -> ContentEdit | None:
        """The edit asked for; None when the body carries no text."""
        if self.subject is None and self.body is None:
            return None
        return ContentEdit(subject=self.subject, body=self.body)


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    version: int | None = Field(default=None, ge=1)


class DraftOut(BaseModel):
    id: uuid.UUID
    channel: str
    subject: str | None
    body: str
    status: str
    version: int
    reasoning: str
    key_points: list[Any]
    facts_used: list[dict[str, Any]]
    """Each cited fact with its source path, the record it came from and, for account
    intelligence, where enrichment found it."""

    @classmethod
    def of(cls, draft: Draft) -> DraftOut:
        personalization = draft.personalization or {}
        return cls(
            id=draft.id,
            channel=draft.channel,
            subject=draft.subject,
            body=draft.body,
            status=draft.status,
            version=draft.version,
            reasoning=str(personalization.get("reasoning") or ""),
            key_points=list(personalization.get("key_points") or []),
            facts_used=list(personalization.get("facts_used") or []),
        )


class ContactOut(BaseModel):
    id: uuid.UUID
    name: str
    title: str | None
    email: str | None
    outreach_status: str
    version: int

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        return cls(
            id=contact.id,
            name=" ".join(p for p in (contact.first_name, contact.last_name) if p),
            title=contact.title,
            email=contact.email,
            outreach_status=contact.outreach_status,
            version=contact.version,
        )


class AccountOut(BaseModel):
    id: uuid.UUID
    name: str
    domain: str | None
    industry: str | None
    version: int


class OpportunityOut(BaseModel):
    id: uuid.UUID
    title: str
    kind: str
    event_date: datetime | None
    location: str | None


class BasisOut(BaseModel):
    recorded: dict[str, int]
    """The versions the item was built (or last refreshed) from."""
    current: dict[str, int]
    changed: list[str]
    """The records whose version moved since, e.g. ``contact``."""


class ApprovalDetailOut(ApprovalItemOut):
    """One item with its full context: the draft and its cited facts, the records behind it
    as they are now, the basis against their current versions, and the send."""

    context: dict[str, Any]
    edited_content: dict[str, Any] | None
    draft: DraftOut | None
    contact: ContactOut | None
    account: AccountOut | None
    opportunity: OpportunityOut | None
    basis: BasisOut
    send: SendOut | None

    @classmethod
    def of_detail(cls, detail: ApprovalDetail) -> ApprovalDetailOut:
        item = detail.item
        recorded = {key: int(value) for key, value in (item.basis or {}).items()}
        changed = [
            key.removesuffix("_version")
            for key, value in recorded.items()
            if detail.current_basis.get(key) != value
        ]
        return cls.model_validate(
            {
                **_item_fields(item),
                "context": item.context,
                "edited_content": item.edited_content,
                "draft": DraftOut.of(detail.draft) if detail.draft else None,
                "contact": ContactOut.of(detail.contact) if detail.contact else None,
                "account": _from_row(AccountOut, detail.account),
                "opportunity": _from_row(OpportunityOut, detail.opportunity),
                "basis": BasisOut(recorded=recorded, current=detail.current_basis, changed=changed),
                "send": SendOut.of(detail.send),
            }
        )


class ApprovalStatsOut(BaseModel):
    by_status: dict[str, int]
    pending_by_agent_type: dict[str, int]
    approved_today: int = Field(description="Approved or edited since midnight UTC.")
    oldest_pending_age_s: int | None
    stale_pending: int

    @classmethod
    def of(cls, stats: ApprovalStats) -> ApprovalStatsOut:
        return cls.model_validate(stats, from_attributes=True)


class BulkApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BULK_ITEMS)

    @field_validator("ids")
    @classmethod
    def _unique(cls, ids: list[uuid.UUID]) -> list[uuid.UUID]:
        repeated = sorted({str(i) for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"ids must be unique; repeated: {', '.join(repeated)}")
        return ids


class BulkRejectBody(BulkApproveBody):
    reason: str = Field(min_length=1, max_length=2000)


class BulkResultOut(BaseModel):
    id: uuid.UUID
    outcome: BulkOutcome
    status: str | None
    detail: str


class BulkOut(BaseModel):
    results: list[BulkResultOut]
    """One per requested id, in request order."""
    summary: dict[str, int]
    """How many ids ended with each outcome."""

    @classmethod
    def of(cls, results: list[BulkResult]) -> BulkOut:
        summary = {outcome.value: 0 for outcome in BulkOutcome}
        for result in results:
            summary[result.outcome.value] += 1
        return cls(
            results=[BulkResultOut.model_validate(r, from_attributes=True) for r in results],
            summary=summary,
        )


def _from_row(model: type[Out], row: Account | Opportunity | None) -> Out | None:
    return None if row is None else model.model_validate(row, from_attributes=True)
