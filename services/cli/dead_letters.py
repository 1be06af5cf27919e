"""``agentfleet dead-letters list|replay``: what sits on the ``.XQ`` queues, and replaying task
messages through the outbox once their cause is fixed.

Listing holds each message unacknowledged while it is read and returns all of them to their
queue. Replay commits the task's reset and fresh dispatch first and acknowledges the dead letter
only after that commit; whatever it does not replay stays on the queue.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from services.cli.broker import WORK_QUEUES, broker_connection, work_queue
from services.cli.dead_letter_queue import DeadLetter, DeadLetterQueue
from services.cli.output import Progress, print_json, print_table
from services.cli.runtime import app_database, settings_or_exit
from shared.db.database import Database
from shared.domain.task_replay import replay_dead_letter, replayable_envelope
from shared.errors import InvalidMessage, NotFound

__all__ = ["list_dead_letters", "replay_dead_letters"]


def _queues(args: argparse.Namespace) -> list[str]:
    return [work_queue(args.queue)] if args.queue else list(WORK_QUEUES)


def list_dead_letters(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    rows: list[dict[str, Any]] = []
    # The readers close together at the end: a message requeued early could be read twice.
    with broker_connection(settings.broker_url) as connection, ExitStack() as readers:
        queues = [readers.enter_context(DeadLetterQueue(connection, q)) for q in _queues(args)]
        depth = sum(queue.depth for queue in queues)
        progress = Progress("read", min(depth, args.limit))
        for queue in queues:
            for letter in queue.read(args.limit - len(rows)):
                rows.append(letter.summary())
                progress.step()
        progress.finish()
    if args.json:
        print_json(rows)
        return 0
    print_table(
        ["message id", "queue", "task id", "tenant id", "task type", "reason"],
        [
            [r["message_id"], r["queue"], r["task_id"], r["tenant_id"], r["task_type"], r["reason"]]
            for r in rows
        ],
    )
    if depth > len(rows):
        print(f"({len(rows)} of {depth} dead letters shown; raise --limit for more)")
    return 0


@dataclass(frozen=True)
class Outcome:
    letter: DeadLetter
    replayed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.letter.summary(), "replayed": self.replayed, "detail": self.detail}


def replay_dead_letters(args: argparse.Namespace) -> int:
    wanted = set(args.message_id or [])
    settings = settings_or_exit()
    outcomes: list[Outcome] = []
    found: set[str | None] = set()
    with (
        app_database(settings) as db,
        broker_connection(settings.broker_url) as connection,
        ExitStack() as readers,
    ):
        queues = [readers.enter_context(DeadLetterQueue(connection, q)) for q in _queues(args)]
        progress = Progress("replayed", sum(q.depth for q in queues) if args.all else len(wanted))
        for queue, letter in _letters(queues):
            if args.all or letter.message_id in wanted:
                outcomes.append(_replay(db, queue, letter))
                progress.step()
                found.add(letter.message_id)
            if not args.all and found >= wanted:
                break
        progress.finish()
    missing = sorted(wanted - found)
    _report(args, outcomes, missing)
    replayed = all(o.replayed for o in outcomes) and not missing
    return 0 if replayed else 1


def _letters(queues: list[DeadLetterQueue]) -> Iterator[tuple[DeadLetterQueue, DeadLetter]]:
    for queue in queues:
        for letter in queue.read():
            yield queue, letter


def _replay(db: Database, reader: DeadLetterQueue, letter: DeadLetter) -> Outcome:
    """One dead letter: its task reset and dispatched in one committed transaction, then the
    message acknowledged. Anything that stops it leaves the message where it is."""
    if letter.problem is not None:
        return Outcome(letter, False, f"not a task message: {letter.problem}")
    try:
        envelope = replayable_envelope(letter.queue, letter.argument)
    except InvalidMessage as exc:
        return Outcome(letter, False, f"not a valid task envelope: {exc.reason}")
    try:
        with db.unit_of_work(envelope.tenant_id) as uow:
            replay = replay_dead_letter(uow, envelope)
            if not replay.dispatched:
                return Outcome(letter, False, f"task is {replay.task_status}; nothing to run again")
            uow.commit()
    except (NotFound, SQLAlchemyError) as exc:
        return Outcome(letter, False, f"not replayed: {exc}")
    reader.remove(letter)
    return Outcome(letter, True, f"task {envelope.task_id} {replay.outcome.value}")


def _report(args: argparse.Namespace, outcomes: list[Outcome], missing: list[str]) -> None:
    if args.json:
        print_json({"results": [o.as_dict() for o in outcomes], "not_found": missing})
        return
    print_table(
        ["message id", "queue", "task id", "replayed", "detail"],
        [
            [o.letter.message_id, o.letter.queue, o.letter.field("task_id"), o.replayed, o.detail]
            for o in outcomes
        ],
    )
    for message_id in missing:
        print(f"message {message_id} is not on the dead-letter queues searched")
    done = sum(o.replayed for o in outcomes)
    left = len(outcomes) - done
    note = f"; {left} left on their dead-letter queue" if left else ""
    print(f"replayed {done} of {len(outcomes)}{note}")
