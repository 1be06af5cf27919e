"""The follow-up actor: thin glue from a queue message to the follow-up service of its task
type (drafting a follow-up, or classifying a reply)."""

from __future__ import annotations

from typing import Any

from shared.agent_types import AgentType
from shared.envelope import TaskEnvelope
from workers.followup.replies import classify_reply
from workers.followup.service import draft_followup
from workers.runtime.actors import agent_actor_declaration
from workers.runtime.context import WorkerContext
from workers.runtime.task_runner import AgentHandler, TaskRun

__all__ = ["FOLLOWUP_HANDLERS", "declare_followup_actor", "handle_followup_task"]

FOLLOWUP_HANDLERS: dict[str, AgentHandler] = {
    "draft_followup": draft_followup,
    "classify_reply": classify_reply,
}


def handle_followup_task(
    ctx: WorkerContext, envelope: TaskEnvelope, parsed_input: Any, run: TaskRun
) -> None:
    """Run the service of the envelope's task type (its input was validated for that type)."""
    FOLLOWUP_HANDLERS[envelope.task_type](ctx, envelope, parsed_input, run)


declare_followup_actor = agent_actor_declaration(AgentType.FOLLOWUP, handle_followup_task)
