"""Finding contacts: Apollo people search at an account, person match to reveal emails, then
contacts (and the scoring hand-off) written in one transaction."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
import structlog

from shared.agent_types import AgentType
from shared.agents.activity import log_agent_action
from shared.agents.config import ContactFinderConfig
from shared.agents.runtime_config import agent_config
from shared.apollo import ApolloClient, Person
from shared.db.models import Account, Contact, Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.handoffs import hand_account_on
from shared.domain.tasks import complete_task, lock_running_task
from shared.envelope import TaskEnvelope
from shared.errors import AgentfleetError, NotFound, PermanentError
from shared.task_inputs import FindContactsInput
from workers.contact_finder.contacts import SavedContacts, Skip, save_contacts
from workers.contact_finder.search import (
    AccountRef,
    department_matches,
    match_query,
    people_query,
)
from workers.runtime.apollo_usage import APOLLO_EXTERNAL_ID, ApolloSpend
from workers.runtime.context import WorkerContext
from workers.runtime.task_runner import TaskRun

__all__ = ["MATCH_OPERATION", "SEARCH_OPERATION", "find_contacts"]

SEARCH_OPERATION = "people_search"
MATCH_OPERATION = "people_match"
SEARCH_PAGES = 2

log = structlog.get_logger(__name__)


def find_contacts(
    ctx: WorkerContext, envelope: TaskEnvelope, request: FindContactsInput, run: TaskRun
) -> None:
    """The contact_finder agent's one step. A repeat delivery after success writes nothing."""
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        config = agent_config(
            uow, run.tenant_id, request.agent_id, AgentType.CONTACT_FINDER, ContactFinderConfig
        )
        account = _account(uow, run.tenant_id, request.account_id)
    apollo = ctx.providers.apollo(run.tenant_id)
    spend = ApolloSpend(run, request.agent_id)
    try:
        candidates = _search(apollo, config, account, spend)
    except AgentfleetError as exc:
        spend.bill_failure(ctx, SEARCH_OPERATION, exc)
        raise
    known = _known_apollo_ids(ctx, run.tenant_id, [p.id for p in candidates])
    try:
        people, skipped = _reveal(apollo, config, account, candidates, known, spend)
    except AgentfleetError as exc:
        spend.bill_failure(ctx, MATCH_OPERATION, exc)
        raise
    with ctx.db.unit_of_work(run.tenant_id) as uow:
        task = lock_running_task(uow, run.tenant_id, run.task_id)
        spend.bill(uow, ctx)
        if task is None:
            # Cancelled while searching: no contacts, but the matches were paid for.
            uow.commit()
            log.info("task.skipped", task_id=str(run.task_id), reason="no longer in progress")
            return
        saved = save_contacts(uow, task, request.account_id, people)
        saved.skipped = [*skipped, *saved.skipped]
        _log_results(uow, task, request, saved)
        output: dict[str, Any] = {
            "account_id": str(request.account_id),
            "candidates": len(candidates),
            "added": len(saved.added),
            "existing": len(saved.existing),
            "skipped": _reasons(saved.skipped),
            "contact_ids": [str(i) for i in saved.found],
            "credits": spend.credits,
        }
        if request.pipeline is not None:
            handed = hand_account_on(
                uow, task, request.account_id, AgentType.SCORING, request.pipeline
            )
            output["handed_off_task_id"] = str(handed)
        complete_task(uow, task, output, succeeded=len(saved.found), failed=len(saved.skipped))
        uow.commit()


def _account(uow: UnitOfWork, tenant_id: uuid.UUID, account_id: uuid.UUID) -> AccountRef:
    account = uow.session.scalars(
        sa.select(Account).where(Account.tenant_id == tenant_id, Account.id == account_id)
    ).first()
    if account is None:
        raise NotFound(f"account {account_id} not found")
    apollo_id = (account.external_ids or {}).get(APOLLO_EXTERNAL_ID)
    if not account.domain and not apollo_id:
        raise PermanentError(f"account {account_id} has neither a domain nor an Apollo id")
    return AccountRef(
        name=account.name,
        domain=account.domain.lower() if account.domain else None,
        apollo_id=str(apollo_id) if apollo_id else None,
    )


def _search(
    apollo: ApolloClient, config: ContactFinderConfig, account: AccountRef, spend: ApolloSpend
) -> list[Person]:
    """Search results, each person once, until there are enough to choose from."""
    query = people_query(config, account)
    enough = config.max_contacts_per_account * 2
    people: dict[str, Person] = {}
    for number, page in enumerate(apollo.iter_people(query, max_pages=SEARCH_PAGES), query.page):
        spend.add(
            f"search:page:{number}",
            SEARCH_OPERATION,
            credits=page.credits_used,
            latency_ms=page.latency_ms,
        )
        for person in page.people:
            people.setdefault(person.id, person)
        if len(people) >= enough:
            break
    return list(people.values())


def _known_apollo_ids(ctx: WorkerContext, tenant_id: uuid.UUID, ids: list[str]) -> set[str]:
    """Apollo ids the tenant already has as contacts: no credit is spent revealing them."""
    if not ids:
        return set()
    with ctx.db.unit_of_work(tenant_id) as uow:
        found = uow.session.scalars(
            sa.select(Contact.external_ids[APOLLO_EXTERNAL_ID].as_string()).where(
                Contact.tenant_id == tenant_id,
                Contact.external_ids[APOLLO_EXTERNAL_ID].as_string().in_(ids),
            )
        )
        return {str(i) for i in found if i}


def _reveal(
    apollo: ApolloClient,
    config: ContactFinderConfig,
    account: AccountRef,
    candidates: list[Person],
    known: set[str],
    spend: ApolloSpend,
) -> tuple[list[Person], list[Skip]]:
    """Up to ``maxContactsPerAccount`` people, matched for their emails when configured."""
    chosen: list[Person] = []
    skipped: list[Skip] = []
    for person in candidates:
        if len(chosen) >= config.max_contacts_per_account:
            break
        if person.id in known:
            chosen.append(person)
            continue
        found = person
        if config.reveal_emails:
            matched = apollo.match_person(match_query(person, account))
            spend.add(
                f"match:{person.id}",
                MATCH_OPERATION,
                credits=matched.credits_used if matched else 0,
                latency_ms=matched.latency_ms if matched else 0,
            )
            if matched is None:
                skipped.append(Skip(person.id, "no match"))
                continue
            found = _merged(person, matched)
        if not department_matches(config.departments, found.departments):
            skipped.append(Skip(person.id, "department"))
        elif not found.first_name:
            skipped.append(Skip(person.id, "unnamed"))
        else:
            chosen.append(found)
    return chosen, skipped


def _merged(searched: Person, matched: Person) -> Person:
    """The match's details with the search's title and seniority (what the filters chose)."""
    return matched.model_copy(
        update={
            "id": searched.id,
            "title": searched.title or matched.title,
            "seniority": searched.seniority or matched.seniority,
            "first_name": matched.first_name or searched.first_name,
        }
    )


def _reasons(skipped: list[Skip]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for skip in skipped:
        counts[skip.reason] = counts.get(skip.reason, 0) + 1
    return counts


def _log_results(
    uow: UnitOfWork, task: Task, request: FindContactsInput, saved: SavedContacts
) -> None:
    account = str(request.account_id)
    for contact_id in saved.added:
        log_agent_action(
            uow,
            task,
            "contact.added",
            entity_type="contact",
            entity_id=contact_id,
            account_id=account,
        )
    for contact_id in saved.existing:
        log_agent_action(
            uow,
            task,
            "contact.found",
            entity_type="contact",
            entity_id=contact_id,
            account_id=account,
        )
    for skip in saved.skipped:
        log_agent_action(uow, task, "contact.skipped", apollo_id=skip.apollo_id, reason=skip.reason)
