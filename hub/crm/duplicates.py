"""Possible duplicates of a lead among other leads and hub customers: the same email, the same company
email domain (webmail domains say nothing about the company), a similar company name, the same phone.

Hints only: they are returned with the new lead so a person can decide; they never block the create.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import ColumnElement, SQLColumnExpression, String, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.store.models import HubCustomer

from .models import Lead

SIMILAR_COMPANY_CUTOFF = 85.0
MAX_HINTS = 20
PHONE_KEY_DIGITS = 8

WEBMAIL_DOMAINS = frozenset(
    (
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.de",
        "yahoo.fr",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.de",
        "hotmail.fr",
        "outlook.com",
        "outlook.de",
        "live.com",
        "live.de",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "gmx.ch",
        "web.de",
        "t-online.de",
        "freenet.de",
        "posteo.de",
        "mailbox.org",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "tutanota.com",
        "wp.pl",
        "o2.pl",
        "onet.pl",
        "interia.pl",
        "op.pl",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "sfr.fr",
        "libero.it",
        "virgilio.it",
        "btinternet.com",
        "sky.com",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "qq.com",
        "163.com",
        "126.com",
        "naver.com",
        "seznam.cz",
        "bluewin.ch",
        "telia.com",
    )
)

_LEGAL_FORMS = frozenset(
    (
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "ohg",
        "ek",
        "kgaa",
        "ug",
        "co",
        "ltd",
        "limited",
        "llc",
        "llp",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "company",
        "plc",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "ab",
        "as",
        "asa",
        "oy",
        "oyj",
        "aps",
        "sp",
        "zoo",
        "z",
        "o",
        "the",
        "und",
        "and",
        "group",
        "holding",
        "holdings",
        "se",
    )
)
_NON_WORD = re.compile(r"[^\w]+")


@dataclass(frozen=True, slots=True)
class DuplicateHint:
    record_type: str  # "lead" or "customer"
    record_id: str
    name: str
    reason: str  # SAME_EMAIL, SAME_EMAIL_DOMAIN, SIMILAR_COMPANY, SAME_PHONE
    score: float  # 0..1, 1 = certain


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].lower()


def company_domain(email: str | None) -> str | None:
    """The email's domain when it says something about the company (not a webmail provider)."""
    domain = email_domain(email)
    return None if domain is None or domain in WEBMAIL_DOMAINS else domain


def phone_key(phone: str | None) -> str | None:
    """The last digits of a number: ``+49 89 1234-5678`` and ``089 12345678`` give the same key."""
    digits = re.sub(r"\D", "", phone or "")
    return digits[-PHONE_KEY_DIGITS:] if len(digits) >= 6 else None


def normalize_company(name: str | None) -> str:
    words = [w for w in _NON_WORD.sub(" ", (name or "").casefold()).split() if w not in _LEGAL_FORMS]
    return " ".join(words)


def _digits_only(column: SQLColumnExpression[str]) -> SQLColumnExpression[str]:
    digits = column
    for char in (" ", "-", ".", "(", ")", "/", "+"):
        digits = func.replace(digits, char, "", type_=String)
    return digits


async def find_duplicate_hints(
    session: AsyncSession,
    *,
    email: str | None,
    company: str | None,
    phone: str | None,
    exclude_lead_id: str | None = None,
) -> list[DuplicateHint]:
    hints: dict[tuple[str, str, str], DuplicateHint] = {}

    def add(record_type: str, record_id: str, name: str, reason: str, score: float) -> None:
        key = (record_type, record_id, reason)
        if key not in hints or hints[key].score < score:
            hints[key] = DuplicateHint(record_type, record_id, name, reason, round(score, 3))

    def lead_label(lead: Lead) -> str:
        return f"{lead.name} ({lead.company})" if lead.company else lead.name

    not_self = Lead.id != exclude_lead_id if exclude_lead_id else Lead.id.is_not(None)
    domain = company_domain(email)
    key = phone_key(phone)
    lead_filters: list[ColumnElement[bool]] = []
    if email:
        lead_filters.append(Lead.email == email)
    if domain:
        lead_filters.append(Lead.email_domain == domain)
    if key:
        lead_filters.append(Lead.phone_key == key)
    if lead_filters:
        for lead in await session.scalars(select(Lead).where(not_self, or_(*lead_filters)).limit(200)):
            if email and lead.email == email:
                add("lead", lead.id, lead_label(lead), "SAME_EMAIL", 1.0)
            elif domain and lead.email_domain == domain:
                add("lead", lead.id, lead_label(lead), "SAME_EMAIL_DOMAIN", 0.7)
            if key and lead.phone_key == key:
                add("lead", lead.id, lead_label(lead), "SAME_PHONE", 0.9)

    active = HubCustomer.merged_into.is_(None)
    if email:
        for row in await session.execute(
            select(HubCustomer.id, HubCustomer.display_name)
            .where(active, HubCustomer.search_text.contains(email, autoescape=True))
            .limit(50)
        ):
            add("customer", row.id, row.display_name, "SAME_EMAIL", 1.0)
    if domain:
        for row in await session.execute(
            select(HubCustomer.id, HubCustomer.display_name)
            .where(active, HubCustomer.search_text.contains(f"@{domain}", autoescape=True))
            .limit(50)
        ):
            add("customer", row.id, row.display_name, "SAME_EMAIL_DOMAIN", 0.7)
    if key:
        for row in await session.execute(
            select(HubCustomer.id, HubCustomer.display_name)
            .where(active, _digits_only(HubCustomer.search_text).contains(key, autoescape=True))
            .limit(50)
        ):
            add("customer", row.id, row.display_name, "SAME_PHONE", 0.9)

    wanted = normalize_company(company)
    if wanted:
        # Narrow by the longest word in SQL, then score the few candidates properly.
        anchor = max(wanted.split(), key=len)
        leads = await session.execute(
            select(Lead.id, Lead.name, Lead.company)
            .where(not_self, func.lower(Lead.company).contains(anchor, autoescape=True))
            .limit(500)
        )
        lead_rows = {row.id: row for row in leads}
        customers = await session.execute(
            select(HubCustomer.id, HubCustomer.display_name)
            .where(active, func.lower(HubCustomer.display_name).contains(anchor, autoescape=True))
            .limit(500)
        )
        customer_rows = {row.id: row for row in customers}
        choices = {("lead", rid): normalize_company(row.company) for rid, row in lead_rows.items()}
        choices.update(
            {("customer", cid): normalize_company(row.display_name) for cid, row in customer_rows.items()}
        )
        for _choice, score, (record_type, record_id) in process.extract(
            wanted,
            choices,
            scorer=fuzz.token_sort_ratio,
            score_cutoff=SIMILAR_COMPANY_CUTOFF,
            limit=MAX_HINTS,
        ):
            if record_type == "lead":
                lead_row = lead_rows[record_id]
                name = f"{lead_row.name} ({lead_row.company})"
            else:
                name = customer_rows[record_id].display_name
            add(record_type, record_id, name, "SIMILAR_COMPANY", score / 100)

    ranked = sorted(hints.values(), key=lambda h: (-h.score, h.record_type, h.name, h.record_id))
    return ranked[:MAX_HINTS]
