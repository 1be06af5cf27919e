"""The scheduler: turns due cron schedules, due held tasks, due deferred sends and expired
approval items into tasks, dispatches and transitions, and reads mailbox inboxes for replies.
Durable state lives in Postgres; several replicas may run at once.
"""

from workers.scheduler.inbox import InboxOutcome, InboxPolling, build_inbox_polling
from workers.scheduler.main import build_scheduler, run_scheduler
from workers.scheduler.scheduler import Scheduler, SchedulerCycle
from workers.scheduler.slots import latest_slot, schedule_key, scheduled_task_id

__all__ = [
    "InboxOutcome",
    "InboxPolling",
    "Scheduler",
    "SchedulerCycle",
    "build_inbox_polling",
    "build_scheduler",
    "latest_slot",
    "run_scheduler",
    "schedule_key",
    "scheduled_task_id",
]
