"""Every table of the data model; importing this package registers them on ``Base.metadata``."""

from shared.db.models.agents import Agent, AgentGuidance, AgentMessage, AgentMessageType, Task
from shared.db.models.crm import (
    Account,
    Contact,
    Opportunity,
    OpportunityKind,
    OutreachStatus,
    SuppressedAddress,
    SuppressionReason,
)
from shared.db.models.drafts import ApprovalItem, ApprovalItemType, Channel, Draft
from shared.db.models.ops import (
    ActivityLogEntry,
    ActorKind,
    DailyMetric,
    OutboxKind,
    OutboxMessage,
    Provider,
    ProviderCredential,
    ProviderUsage,
    UsageOutcome,
)
from shared.db.models.quotas import AgentQuotaClaim, AgentQuotaWindow
from shared.db.models.replies import InboundReply
from shared.db.models.sending import Mailbox, MessageSend, SendPhase, SmtpSecurity
from shared.db.models.tenancy import ApiKey, Tenant, TenantStatus, User

__all__ = [
    "TENANT_TABLES",
    "Account",
    "ActivityLogEntry",
    "ActorKind",
    "Agent",
    "AgentGuidance",
    "AgentMessage",
    "AgentMessageType",
    "AgentQuotaClaim",
    "AgentQuotaWindow",
    "ApiKey",
    "ApprovalItem",
    "ApprovalItemType",
    "Channel",
    "Contact",
    "DailyMetric",
    "Draft",
    "InboundReply",
    "Mailbox",
    "MessageSend",
    "Opportunity",
    "OpportunityKind",
    "OutboxKind",
    "OutboxMessage",
    "OutreachStatus",
    "Provider",
    "ProviderCredential",
    "ProviderUsage",
    "SendPhase",
    "SmtpSecurity",
    "SuppressedAddress",
    "SuppressionReason",
    "Task",
    "Tenant",
    "TenantStatus",
    "UsageOutcome",
    "User",
]


# Tables guarded by row-level security, keyed on tenant_id ("tenants" on its own id).
TENANT_TABLES: tuple[str, ...] = (
    "users",
    "api_keys",
    "agents",
    "tasks",
    "agent_messages",
    "accounts",
    "contacts",
    "opportunities",
    "suppression_list",
    "drafts",
    "approval_items",
    "activity_log",
    "daily_metrics",
    "provider_credentials",
    "provider_usage",
    "outbox",
    "agent_quota_windows",
    "agent_quota_claims",
    "mailboxes",
    "message_sends",
    "inbound_replies",
    "agent_guidance",
)
