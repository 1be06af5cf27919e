"""The follow-up agent: reminder, value-add, check-in and escalation drafts on an earlier one."""
