"""The sender actor: thin glue from a ``sender`` queue message to :func:`deliver_send`.

An argument that is not a valid send request, or names no send, is dead-lettered with the
reason (the runtime's dead-letter sink) and never retried.
"""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
import structlog
from dramatiq.middleware import CurrentMessage

from shared.errors import InvalidMessage
from shared.sending.queue import SENDER_QUEUE
from workers.runtime.bootstrap import ActorDeclaration
from workers.runtime.context import WorkerBoot, WorkerContext
from workers.runtime.outcomes import TaskOutcome, note_outcome
from workers.sender.requests import parse_send_request
from workers.sender.service import deliver_send
from workers.sender.tools import SenderTools, build_sender_tools

__all__ = ["declare_sender_actor", "handle_send_message", "sender_actor_declaration"]

log = structlog.get_logger(__name__)


def handle_send_message(ctx: WorkerContext, tools: SenderTools, raw: object) -> TaskOutcome:
    """Deliver the send ``raw`` names, or dead-letter the message with the reason it cannot."""
    try:
        deliver_send(ctx.db, tools, parse_send_request(raw))
    except InvalidMessage as exc:
        log.warning("message.dead_lettered", queue=SENDER_QUEUE, reason=exc.reason)
        message = CurrentMessage.get_current_message()
        if message is not None:
            ctx.dead_letters.dead_letter(message, exc.reason, kind=exc.kind)
        return TaskOutcome.DEAD_LETTERED
    return TaskOutcome.COMPLETED


class _ToolsAfterBoot:
    """Builds the sender's tools once, from the settings of the booted worker process."""

    def __init__(self, tools: SenderTools | None) -> None:
        self._tools = tools
        self._lock = threading.Lock()

    def get(self, ctx: WorkerContext) -> SenderTools:
        with self._lock:
            if self._tools is None:
                self._tools = build_sender_tools(ctx.settings)
            return self._tools


def sender_actor_declaration(tools: SenderTools | None = None) -> ActorDeclaration:
    """The ``sender`` actor (actor and queue name ``sender``); ``tools`` replace the ones built
    from the pool's settings (a test's TLS context, clock)."""

    def declare(broker: dramatiq.Broker, boot: WorkerBoot) -> dramatiq.Actor[Any, Any]:
        built = _ToolsAfterBoot(tools)

        def sender(payload: object) -> None:
            context = boot.context
            note_outcome(handle_send_message(context, built.get(context), payload))

        register = dramatiq.actor(broker=broker, actor_name=SENDER_QUEUE, queue_name=SENDER_QUEUE)
        return register(sender)

    return declare


declare_sender_actor = sender_actor_declaration()
