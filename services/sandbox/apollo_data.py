"""Deterministic Apollo.io data for the sandbox: organizations and people derived from a query.

The same filters and seed always give the same total, pages and records.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

__all__ = ["enrichment", "match", "organization_page", "people_page"]

Json = dict[str, Any]

_A = ["Acme", "Northwind", "Blue", "Summit", "Bright", "Iron", "Cedar", "Harbor", "Nova", "Atlas"]
_B = ["Robotics", "Analytics", "Logistics", "Health", "Systems", "Labs", "Foods", "Energy"]
_B += ["Software", "Networks"]
_FIRST = ["Dana", "Alex", "Priya", "Marcus", "Lena", "Tomas", "Aisha", "Kenji", "Sofia", "Omar"]
_LAST = ["Reyes", "Chen", "Patel", "Okafor", "Schmidt", "Novak", "Haddad", "Larsen", "Moreau"]
_INDUSTRIES = ["computer software", "logistics & supply chain", "financial services", "retail"]
_PLACES = ["San Francisco, California, United States", "Austin, Texas, United States"]
_PLACES += ["London, England, United Kingdom", "Berlin, Berlin, Germany", "Toronto, Canada"]
_TECH = ["salesforce", "hubspot", "stripe", "google_analytics", "slack", "zendesk", "snowflake"]
_TITLES = {"owner": "Owner", "founder": "Founder", "c_suite": "Chief Revenue Officer"}
_TITLES |= {"partner": "Partner", "vp": "VP of Sales", "head": "Head of Growth"}
_TITLES |= {"director": "Director of Sales", "manager": "Sales Manager", "intern": "Sales Intern"}
_TITLES |= {"senior": "Senior Account Executive", "entry": "Account Executive"}
_LEVELS = [("chief", "c_suite"), ("vp", "vp"), ("vice president", "vp"), ("head", "head")]
_LEVELS += [("director", "director"), ("manager", "manager")]


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _rng(*parts: object) -> random.Random:
    return random.Random(_digest(*parts))


def _filters(query: Json) -> Json:
    return {key: value for key, value in query.items() if key not in ("page", "per_page")}


def _page_range(query: Json, total: int) -> range:
    start = (query["page"] - 1) * query["per_page"]
    return range(min(start, total), min(start + query["per_page"], total))


def _place(location: str) -> Json:
    parts = [part.strip() for part in location.split(",") if part.strip()] or ["United States"]
    city = parts[0] if len(parts) > 1 else None
    return {"city": city, "state": parts[1] if len(parts) > 2 else None, "country": parts[-1]}


def _organization(domain: str, seed: int, filters: Json, name: str | None = None) -> Json:
    """Firmographics for ``domain`` that satisfy the search ``filters``."""
    rng = _rng("organization", domain, seed)
    ranges = filters.get("organization_num_employees_ranges") or ["5,5000"]
    low, _, high = rng.choice(ranges).partition(",")
    employees = rng.randint(int(low), int(high) if high else int(low) * 10)
    revenue = filters.get("revenue_range") or {}
    least = int(revenue.get("min") or 0) if revenue else employees * 80_000
    most = max(least, int(revenue.get("max") or least * 3 + 1_000_000))
    excluded = [place.lower() for place in filters.get("organization_not_locations") or []]
    places = [p for p in _PLACES if not any(x in p.lower() for x in excluded)] or ["Oslo, Norway"]
    techs = sorted(
        {*rng.sample(_TECH, 3), *filters.get("currently_using_any_of_technology_uids", [])}
    )
    tags = filters.get("q_organization_keyword_tags") or [rng.choice(_INDUSTRIES)]
    names = {uid: uid.replace("_", " ").title() for uid in techs}
    intent = rng.random() < 0.3
    return {
        "id": _digest("organization", domain)[:24],
        "name": name or domain.split(".")[0].replace("-", " ").title(),
        "website_url": f"http://www.{domain}",
        "primary_domain": domain,
        "linkedin_url": f"http://www.linkedin.com/company/{domain.split('.')[0]}",
        "founded_year": rng.randint(1975, 2022),
        "industry": tags[0],
        "keywords": [*tags, "b2b"],
        "estimated_num_employees": employees,
        "annual_revenue": rng.randint(least, most),
        **_place(rng.choice(filters.get("organization_locations") or places)),
        "technology_names": list(names.values()),
        "current_technologies": [
            {"uid": uid, "name": name, "category": "Other"} for uid, name in names.items()
        ],
        "show_intent": True,
        "has_intent_signal_account": intent,
        "intent_signal_account": {"intent_strength": "high"} if intent else None,
    }


def organization_page(query: Json, seed: int) -> Json:
    filters = _filters(query)
    domains, named = filters.get("q_organization_domains_list"), filters.get("q_organization_name")
    rng = _rng("companies", filters, seed)
    total = len(domains) if domains else rng.randint(3, 20) if named else rng.randint(40, 99)
    offset, combos = rng.randrange(len(_A) * len(_B)), len(_A) * len(_B)
    organizations = []
    for index in _page_range(query, total):
        if domains:
            organizations.append(_organization(domains[index].lower(), seed, filters))
            continue
        combo = (offset + index) % combos  # distinct names while total <= combos
        name = " ".join(filter(None, (named, _A[combo // len(_B)], _B[combo % len(_B)])))
        org = _organization(re.sub(r"[^a-z0-9]+", "-", name.lower()) + ".com", seed, filters, name)
        org["organization_revenue"] = org.pop("annual_revenue")  # search's name for it
        organizations.append(org)
    pagination = {"page": query["page"], "per_page": query["per_page"], "total_entries": total}
    pagination["total_pages"] = math.ceil(total / query["per_page"])
    return {"pagination": pagination, "organizations": organizations, "breadcrumbs": []}


def _seniority(title: str) -> str:
    return next((level for word, level in _LEVELS if word in title.lower()), "senior")


def people_page(query: Json, seed: int) -> Json:
    filters = _filters(query)
    total = _rng("people", filters, seed).randint(25, 325)
    has_email = "unavailable" not in (filters.get("contact_email_status") or [])
    people = []
    for index in _page_range(query, total):
        rng = _rng("person", filters, index, seed)
        level = rng.choice(filters.get("person_seniorities") or [None])
        title = rng.choice(
            filters.get("person_titles") or [_TITLES.get(level, "Account Executive")]
        )
        domain = f"{rng.choice(_A)}-{rng.choice(_B)}.com".lower()
        domain = rng.choice(filters.get("q_organization_domains_list") or [domain])
        last = rng.choice(_LAST)
        company = domain.split(".")[0].replace("-", " ").title()
        organization = {"name": company, "has_industry": True}
        people.append(
            {
                "id": _digest("person", filters, index, seed)[:24],
                "first_name": rng.choice(_FIRST),
                "last_name_obfuscated": f"{last[:2]}***{last[-1]}",
                "title": title,
                "seniority": level or _seniority(title),
                "last_refreshed_at": "2026-01-15T08:00:00.000+00:00",
                "has_email": has_email,
                "has_direct_phone": rng.random() < 0.4,
                "organization": organization | {"has_revenue": True, "has_employee_count": True},
            }
        )
    return {"total_entries": total, "people": people}


def enrichment(query: Json, seed: int) -> Json | Response:
    domain = str(query.get("domain") or "").strip().lower()
    if "." not in domain:
        return JSONResponse({"error": "domain is required", "error_code": "INVALID_PARAMS"}, 422)
    return {} if domain.endswith(".invalid") else {"organization": _organization(domain, seed, {})}


def match(query: Json, seed: int) -> Json:
    email = str(query.get("email") or "").lower()
    domain = str(query.get("domain") or email.partition("@")[2]).lower()
    if domain.endswith(".invalid"):
        return {"person": None}
    key = email or query.get("linkedin_url") or query.get("id") or _filters(query)
    rng = _rng("match", key, seed)
    words = str(query.get("name") or email.partition("@")[0].replace("_", ".")).split(".")
    words = " ".join(words).split() or [rng.choice(_FIRST), rng.choice(_LAST)]
    first = str(query.get("first_name") or words[0]).title()
    last = str(query.get("last_name") or (words[-1] if len(words) > 1 else rng.choice(_LAST)))
    last = last.title()
    company = query.get("organization_name")
    slug = re.sub(r"[^a-z0-9]+", "", str(company or rng.choice(_A)).lower())
    organization = _organization(domain or f"{slug}.com", seed, {}, company)
    title = rng.choice(list(_TITLES.values()))
    person = {
        "id": query.get("id") or _digest("person", key)[:24],
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}",
        "title": title,
        "headline": f"{title} at {organization['name']}",
        "email": email or f"{first}.{last}@{organization['primary_domain']}".lower(),
        "email_status": "verified",
        "linkedin_url": query.get("linkedin_url")
        or f"http://www.linkedin.com/in/{first}-{last}-{_digest(key)[:6]}".lower(),
        "organization_id": organization["id"],
        "seniority": _seniority(title),
        "departments": ["master_sales"],
        **_place(rng.choice(_PLACES)),
        "organization": organization,
    }
    if query.get("reveal_personal_emails"):
        person["personal_emails"] = [f"{first}.{last}@gmail.com".lower()]
    return {"person": person}
