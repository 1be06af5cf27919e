"""Deterministic sales drafts written from the context an outreach prompt carries.

Every sentence knows the facts it cites, so ``facts_used`` lists exactly what the text says,
each with the dotted path of the context value it came from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.sandbox.context import Fact, PromptContext

__all__ = ["Draft", "write_draft"]

_GREETINGS = {"professional": ("Hello", "Dear"), "friendly": ("Hi",), "casual": ("Hey",)}
_ANONYMOUS_GREETINGS = {"professional": "Hello,", "friendly": "Hi there,", "casual": "Hey there,"}
_SIGN_OFFS = {"professional": "Best regards", "friendly": "Best", "casual": "Cheers"}


@dataclass(frozen=True)
class _Sentence:
    topic: str
    text: str
    facts: tuple[Fact, ...]
    point: str | None = None


@dataclass(frozen=True)
class Draft:
    """A written message with the reasoning, key points and facts behind it."""

    subject: str
    body: str
    reasoning: str
    key_points: list[str]
    facts_used: list[Fact]

    def as_values(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "body": self.body,
            "reasoning": self.reasoning,
            "key_points": self.key_points,
            "facts_used": [{"fact": f.fact, "source": f.source} for f in self.facts_used],
        }


def write_draft(ctx: PromptContext, rng: random.Random) -> Draft:
    """An email or LinkedIn note greeting the contact and citing the facts it was given."""
    channel = ctx.choice("channel", ("email", "linkedin", "other"))
    tone = ctx.choice("tone", ("professional", "friendly", "casual"))
    max_words = ctx.max_words(channel)

    first = ctx.fact("contact.first_name", "First name")
    title = ctx.fact("contact.title", "Title")
    company = ctx.fact("contact.company", "Company") or ctx.fact("account.name", "Company")
    # Only a dated event invites a meeting there; other opportunities read as news.
    is_event = ctx.text("opportunity.kind") in (None, "event")
    event = ctx.fact("opportunity.title", "Event") if is_event else None
    news = None if is_event else ctx.fact("opportunity.title", "News")
    event_date = ctx.fact("opportunity.event_date", "Event date")
    event_place = ctx.fact("opportunity.location", "Event location")
    industry = ctx.fact("account.industry", "Industry")
    employees = ctx.fact("account.employee_count", "Employees")
    techs = ctx.technologies()
    history_path = ctx.last_history_path()
    earlier = ctx.fact(history_path, "Earlier message") if history_path else None

    greeting = _Sentence(
        "greeting",
        f"{rng.choice(_GREETINGS[tone])} {first[0]}," if first else _ANONYMOUS_GREETINGS[tone],
        (first[1],) if first else (),
    )
    optional: list[_Sentence | None] = [
        _intro(rng, title, company),
        _event_line(rng, event, event_date, event_place),
        _news_line(news),
        _industry_line(rng, industry, employees),
        _history_line(earlier),
        _stack_line(techs),
    ]
    ask = _ask(rng, tone, event)
    sign_off = _SIGN_OFFS[tone] if channel == "email" else ""

    words = _words(greeting.text) + _words(ask.text) + _words(sign_off)
    chosen: list[_Sentence] = []
    for sentence in optional:
        if sentence and words + _words(sentence.text) <= max_words:
            chosen.append(sentence)
            words += _words(sentence.text)
    body = _layout(channel, greeting, chosen, ask, sign_off, max_words)
    subject = _subject(rng, channel, first, company, event, industry)
    used = [greeting, *chosen, ask]
    cited = [fact for s in (subject, *used) for fact in s.facts]
    facts = list({fact.source: fact for fact in cited}.values())
    return Draft(
        subject=subject.text,
        body=body,
        reasoning=_reasoning(used, tone, channel, max_words),
        key_points=[s.point for s in used if s.point],
        facts_used=facts,
    )


_Found = tuple[str, Fact] | None


def _intro(rng: random.Random, title: _Found, company: _Found) -> _Sentence | None:
    if title and company:
        text = rng.choice(
            (
                f"As {title[0]} at {company[0]}, you are probably looking for ways to build "
                "pipeline without adding headcount.",
                f"Your work as {title[0]} at {company[0]} caught my attention.",
                f"I have been following {company[0]} and thought of you, given your role as "
                f"{title[0]}.",
            )
        )
        point = f"Relevant to the {title[0]} role at {company[0]}"
        return _Sentence("role", text, (title[1], company[1]), point)
    if company:
        text = f"I have been following {company[0]} for a while."
        return _Sentence("role", text, (company[1],), f"Written for {company[0]}")
    if title:
        text = f"Given your role as {title[0]}, I thought this might be useful."
        return _Sentence("role", text, (title[1],), f"Relevant to the {title[0]} role")
    return None


def _event_line(rng: random.Random, event: _Found, when: _Found, where: _Found) -> _Sentence | None:
    if not event:
        return None
    place = f" in {where[0]}" if where else ""
    day = f" on {_readable_date(when[0])}" if when else ""
    text = rng.choice(
        (
            f"Are you planning to be at {event[0]}{place}{day}?",
            f"I noticed {event[0]} is coming up{place}{day}, and it seemed a good moment to "
            "connect.",
        )
    )
    facts = tuple(found[1] for found in (event, when, where) if found)
    point = f"Timed around {event[0]}{place}{day}"
    return _Sentence("event", text, facts, point)


def _news_line(news: _Found) -> _Sentence | None:
    if not news:
        return None
    text = f"I saw the news ({news[0]}), congratulations to you and the team."
    return _Sentence("news", text, (news[1],), f"Opens with {news[0]}")


def _industry_line(rng: random.Random, industry: _Found, employees: _Found) -> _Sentence | None:
    if not industry:
        return None
    facts = [industry[1]]
    size = ""
    if employees:
        size = f" of about {employees[0]} people"
        facts.append(employees[1])
    text = rng.choice(
        (
            f"Teams at {industry[0]} companies{size} often spend hours researching accounts, "
            "work we now automate.",
            f"We help {industry[0]} companies{size} turn account research into booked meetings.",
        )
    )
    return _Sentence("industry", text, tuple(facts), f"Value for {industry[0]} teams")


def _history_line(earlier: _Found) -> _Sentence | None:
    if not earlier:
        return None
    text = f'This follows my earlier note, "{earlier[0]}".'
    return _Sentence("history", text, (earlier[1],), f'Follows up on "{earlier[0]}"')


def _stack_line(techs: list[str]) -> _Sentence | None:
    if not techs:
        return None
    named = _join_names(techs[:3])
    text = f"It works alongside tools you already use, such as {named}."
    fact = Fact(f"Technologies: {named}", "account.technologies")
    return _Sentence("stack", text, (fact,), f"Fits their current tools ({named})")


def _ask(rng: random.Random, tone: str, event: _Found) -> _Sentence:
    if event:
        text = rng.choice(
            (
                f"Would you be open to a short meeting at {event[0]}?",
                f"Could we find 15 minutes at {event[0]}, or on a call beforehand?",
            )
        )
        return _Sentence("ask", text, (event[1],), f"Asks for a short meeting at {event[0]}")
    if tone == "casual":
        return _Sentence("ask", "Up for a quick chat next week?", (), "Asks for a short call")
    text = rng.choice(
        ("Would you be open to a 15-minute call next week?", "Is this worth a short conversation?")
    )
    return _Sentence("ask", text, (), "Asks for a short call")


def _subject(
    rng: random.Random,
    channel: str,
    first: _Found,
    company: _Found,
    event: _Found,
    industry: _Found,
) -> _Sentence:
    options: list[tuple[str, tuple[Fact, ...]]]
    if event:
        options = [
            (f"Meeting at {event[0]}?", (event[1],)),
            (f"{event[0]}: worth a quick chat?", (event[1],)),
        ]
        if first:
            options.append((f"{first[0]}, are you going to {event[0]}?", (first[1], event[1])))
    elif company:
        options = [
            (f"An idea for {company[0]}", (company[1],)),
            (f"Account research at {company[0]}", (company[1],)),
        ]
        if industry:
            options.append((f"Pipeline ideas for {industry[0]} teams", (industry[1],)))
    else:
        options = [("A quick idea", ()), ("Worth a short conversation?", ())]
    text, facts = rng.choice(options)
    return _Sentence("subject", f"Connecting: {text}" if channel == "linkedin" else text, facts)


def _layout(
    channel: str,
    greeting: _Sentence,
    chosen: list[_Sentence],
    ask: _Sentence,
    sign_off: str,
    max_words: int,
) -> str:
    middle = " ".join(s.text for s in chosen)
    if channel == "linkedin":
        # A connection note is short: the greeting, then one paragraph.
        paragraphs: tuple[str, ...] = (greeting.text, f"{middle} {ask.text}".strip())
    else:
        paragraphs = (greeting.text, middle, ask.text, sign_off)
    body = "\n\n".join(part for part in paragraphs if part)
    if _words(body) <= max_words:
        return body
    # Only a very small max_words gets here: keep its first words, as a writer would cut.
    return " ".join(body.split()[:max_words])


def _reasoning(used: list[_Sentence], tone: str, channel: str, max_words: int) -> str:
    topics = {s.topic for s in used if s.facts}
    parts = []
    if "greeting" in topics:
        parts.append("greeted the contact by first name")
    if "role" in topics:
        parts.append("opened with their role and company")
    if "event" in topics:
        parts.append("tied the message to the upcoming event")
    if "industry" in topics:
        parts.append("related the offer to their industry")
    if "history" in topics:
        parts.append("referred back to the earlier message")
    if "stack" in topics:
        parts.append("mentioned tools they already use")
    done = "; ".join(parts) if parts else "little context was given, so the message stays general"
    return (
        f"{done[0].upper()}{done[1:]}. Kept a {tone} tone for {channel}, within {max_words} words."
    )


def _join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _readable_date(value: str) -> str:
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return f"{day:%B} {day.day}, {day.year}"


def _words(text: str) -> int:
    return len(text.split())
