"""Deterministic follow-up drafts: a reminder, value-add, check-in or escalation on an earlier
message, written from a context whose ``followup`` object names the type and the original."""

from __future__ import annotations

import random

from services.sandbox.context import Fact, PromptContext
from services.sandbox.drafts import (
    _ANONYMOUS_GREETINGS,
    _GREETINGS,
    _SIGN_OFFS,
    Draft,
    _layout,
    _Sentence,
)

__all__ = ["write_followup"]

_TYPES = ("reminder", "value_add", "check_in", "escalation")
_Found = tuple[str, Fact] | None


def write_followup(ctx: PromptContext, rng: random.Random) -> Draft:
    """A short follow-up of the type the context asks for, citing only context values."""
    channel = ctx.choice("channel", ("email", "linkedin", "other"))
    tone = ctx.choice("tone", ("professional", "friendly", "casual"))
    kind = ctx.text("followup.type") or "reminder"
    kind = kind if kind in _TYPES else "reminder"
    first = ctx.fact("contact.first_name", "First name")
    company = ctx.fact("contact.company", "Company") or ctx.fact("account.name", "Company")
    original = ctx.fact("followup.original.subject", "Earlier message")

    greeting = _Sentence(
        "greeting",
        f"{rng.choice(_GREETINGS[tone])} {first[0]}," if first else _ANONYMOUS_GREETINGS[tone],
        (first[1],) if first else (),
    )
    lines = {
        "reminder": _reminder,
        "value_add": _value_add,
        "check_in": _check_in,
        "escalation": _escalation,
    }
    middle = lines[kind](ctx, original, company)
    ask = (
        _Sentence("ask", "Either way, thank you for your time.", ())
        if kind == "escalation"
        else _Sentence("ask", "Would a 15-minute call next week be useful?", (), "Asks for a call")
    )
    sign_off = _SIGN_OFFS[tone] if channel == "email" else ""
    body = _layout(channel, greeting, [middle], ask, sign_off, ctx.max_words(channel))
    subject_facts: tuple[Fact, ...] = (original[1],) if original else ()
    subject = f"Re: {original[0]}" if original else "Following up"
    cited = [*subject_facts, *greeting.facts, *middle.facts]
    facts = list({fact.source: fact for fact in cited}.values())
    attempt = ctx.text("followup.attempt") or "1"
    return Draft(
        subject=subject if channel == "email" else "",
        body=body,
        reasoning=(
            f"A {kind.replace('_', '-')} follow-up (number {attempt}) to the earlier message, "
            f"in a {tone} tone for {channel}."
        ),
        key_points=[s.point for s in (middle, ask) if s.point],
        facts_used=facts,
    )


def _reminder(ctx: PromptContext, original: _Found, company: _Found) -> _Sentence:
    if original:
        text = f'I wanted to bring my earlier note, "{original[0]}", back to the top of your inbox.'
        return _Sentence("reminder", text, (original[1],), f'Reminds them of "{original[0]}"')
    return _Sentence("reminder", "I wanted to follow up on my earlier message.", (), "Reminder")


def _value_add(ctx: PromptContext, original: _Found, company: _Found) -> _Sentence:
    industry = ctx.fact("account.industry", "Industry")
    if industry:
        text = (
            f"One more thought: teams at {industry[0]} companies often use us to cut the hours "
            "they spend on account research."
        )
        return _Sentence("value", text, (industry[1],), f"Adds value for {industry[0]} teams")
    text = "One more thought: most teams we work with save hours of account research each week."
    return _Sentence("value", text, (), "Adds a general benefit")


def _check_in(ctx: PromptContext, original: _Found, company: _Found) -> _Sentence:
    event = ctx.fact("opportunity.title", "Event")
    if event:
        text = f"Just checking in as {event[0]} gets closer."
        return _Sentence("check_in", text, (event[1],), f"Checks in around {event[0]}")
    if company:
        text = f"Just checking in to see whether this is a priority at {company[0]} right now."
        return _Sentence("check_in", text, (company[1],), f"Checks in with {company[0]}")
    return _Sentence("check_in", "Just checking in on my last message.", (), "Checks in")


def _escalation(ctx: PromptContext, original: _Found, company: _Found) -> _Sentence:
    if company:
        text = f"If someone else at {company[0]} owns this, could you point me to them?"
        return _Sentence("escalation", text, (company[1],), "Asks for the right person")
    text = "If someone else owns this, could you point me to them?"
    return _Sentence("escalation", text, (), "Asks for the right person")
