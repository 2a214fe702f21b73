"""The support desk's data: organizations (the customers that ever asked for help), their end users and
tickets, plus a few agents. Ids are the desk's own. Indexed by id, organization, requester, e-mail, external
id and update time so every endpoint answers in O(page)."""

from __future__ import annotations

import bisect
import datetime as dt
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .._hashing import rng, unit
from ..variants import company_name_variant, domain_of, phone_variant
from ..world import REFERENCE_DATE, World, as_utc, building

ORGANIZATION_ID_BASE = 360_000_000_000
USER_ID_BASE = 361_000_000_000
STATUS_ORDER = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITY_ORDER = ("low", "normal", "high", "urgent")
SUPPORT_DOMAIN = "support.crmhub-demo.example"

_SUBJECTS = (
    "Invoice {n} shows the wrong amount",
    "Delivery for order {n} is late",
    "Damaged goods received",
    "Request for an updated price list",
    "Cannot log in to the customer portal",
    "Question about payment terms",
    "Wrong item delivered",
    "Need a copy of invoice {n}",
    "Change of billing address",
    "Warranty claim for a defective unit",
    "Request for a quote",
    "Missing items in shipment",
    "Credit note not received",
    "Technical question about installation",
    "Please update our VAT number",
)
_AGENTS = (("Sam Rivera", "sam.rivera"), ("Alex Chen", "alex.chen"), ("Jo Müller", "jo.mueller"))


@dataclass(slots=True)
class Organization:
    id: int
    cluster_id: str
    name: str
    external_id: str | None
    domain_names: list[str]
    details: str
    created: dt.datetime
    updated: dt.datetime
    tags: list[str]


@dataclass(slots=True)
class User:
    id: int
    organization_id: int | None
    name: str
    email: str | None
    phone: str | None
    role: str
    created: dt.datetime
    updated: dt.datetime
    locale: str
    time_zone: str


@dataclass(slots=True)
class Ticket:
    id: int
    requester_id: int
    assignee_id: int
    organization_id: int | None
    subject: str
    description: str
    status: str
    priority: str | None
    type: str | None
    channel: str
    created: dt.datetime
    updated: dt.datetime
    tags: list[str] = field(default_factory=list)


class _Timeline:
    """Records ordered by ``(updated, id)`` for incremental exports."""

    def __init__(self, records: Sequence[Any]) -> None:
        self.records = sorted(records, key=lambda r: (r.updated, r.id))
        self.keys = [(r.updated, r.id) for r in self.records]

    def after(self, key: tuple[dt.datetime, int]) -> int:
        return bisect.bisect_right(self.keys, key)

    def at_or_after(self, moment: dt.datetime) -> int:
        return bisect.bisect_left(self.keys, (moment, -1))


class SupportData:
    def __init__(self, organizations: list[Organization], users: list[User], tickets: list[Ticket]) -> None:
        self.organizations = sorted(organizations, key=lambda r: r.id)
        self.users = sorted(users, key=lambda r: r.id)
        self.tickets = sorted(tickets, key=lambda r: r.id)
        self.organization_by_id = {o.id: o for o in self.organizations}
        self.organization_by_external_id = {
            o.external_id.lower(): o for o in self.organizations if o.external_id
        }
        self.user_by_id = {u.id: u for u in self.users}
        self.ticket_by_id = {t.id: t for t in self.tickets}
        self.users_by_organization: dict[int, list[User]] = defaultdict(list)
        self.users_by_email: dict[str, User] = {}
        for user in self.users:
            if user.organization_id is not None:
                self.users_by_organization[user.organization_id].append(user)
            if user.email:
                self.users_by_email[user.email.lower()] = user
        self.tickets_by_organization: dict[int, list[Ticket]] = defaultdict(list)
        self.tickets_by_requester: dict[int, list[Ticket]] = defaultdict(list)
        for ticket in self.tickets:
            if ticket.organization_id is not None:
                self.tickets_by_organization[ticket.organization_id].append(ticket)
            self.tickets_by_requester[ticket.requester_id].append(ticket)
        self.timelines = {
            "organizations": _Timeline(self.organizations),
            "users": _Timeline(self.users),
            "tickets": _Timeline(self.tickets),
        }
        self.ids = {
            "organizations": [o.id for o in self.organizations],
            "users": [u.id for u in self.users],
            "tickets": [t.id for t in self.tickets],
        }
        self.build_seconds = 0.0

    def collection(self, name: str) -> Sequence[Any]:
        collections: dict[str, Sequence[Any]] = {
            "organizations": self.organizations,
            "users": self.users,
            "tickets": self.tickets,
        }
        return collections[name]

    @classmethod
    def build(cls, world: World) -> SupportData:
        with building():
            return cls._build(world)

    @classmethod
    def _build(cls, world: World) -> SupportData:
        started = time.perf_counter()
        seed = world.seed
        chosen = [index for index in range(world.size) if world.in_support(index)]
        # The desk numbers organizations in the order they first wrote in, not in the ERP's order.
        chosen.sort(key=lambda index: unit(seed, "support-org-order", index))
        organizations: list[Organization] = []
        users: list[User] = []
        agents = [
            User(
                id=USER_ID_BASE + k + 1,
                organization_id=None,
                name=name,
                email=f"{mailbox}@{SUPPORT_DOMAIN}",
                phone=None,
                role="agent",
                created=REFERENCE_DATE - dt.timedelta(days=1500 - k),
                updated=REFERENCE_DATE - dt.timedelta(days=30 + k),
                locale="en-US",
                time_zone="UTC",
            )
            for k, (name, mailbox) in enumerate(_AGENTS)
        ]
        users.extend(agents)
        ticket_drafts: list[tuple[dt.datetime, float, Ticket]] = []
        for position, index in enumerate(chosen, start=1):
            company = world.company(index)
            code = company.get("code") or str(company.get("id"))
            org = cls._organization(world, ORGANIZATION_ID_BASE + position, index, company, code)
            organizations.append(org)
            members = cls._users(world, index, org, len(users))
            users.extend(members)
            if members:
                ticket_drafts.extend(cls._tickets(world, index, org, members, agents))
        ticket_drafts.sort(key=lambda d: (d[0], d[1]))
        tickets = []
        for ticket_id, (_, _, ticket) in enumerate(ticket_drafts, start=1):
            ticket.id = ticket_id
            ticket.subject = ticket.subject.replace("{n}", str(10_000 + (ticket_id * 7919) % 90_000))
            tickets.append(ticket)
        data = cls(organizations, users, tickets)
        data.build_seconds = time.perf_counter() - started
        return data

    @staticmethod
    def _organization(
        world: World, org_id: int, index: int, company: dict[str, Any], code: str
    ) -> Organization:
        seed = world.seed
        stream = rng(seed, "support-org", index).random
        draw = stream()
        style = "plain" if draw < 0.5 else "legal" if draw < 0.7 else "spelled" if draw < 0.85 else "typo"
        if draw >= 0.95:
            style = "upper"
        name = company_name_variant(company.get("name") or code, company.get("legal_form"), style, stream())
        created = as_utc(company.get("created_at") or REFERENCE_DATE) + dt.timedelta(
            days=int(stream() * 400),
            seconds=int(stream() * 86400),
        )
        created = min(created, REFERENCE_DATE - dt.timedelta(days=1))
        updated = created + dt.timedelta(days=int(stream() * 200))
        domain = domain_of(company.get("website"), company.get("email"))
        city = company.get("city") or ""
        return Organization(
            id=org_id,
            cluster_id=world.cluster_id(index),
            name=name,
            external_id=code,
            domain_names=[domain] if domain and stream() < 0.7 else [],
            details=", ".join(part for part in (company.get("street"), city, company.get("country")) if part),
            created=created,
            updated=min(updated, REFERENCE_DATE - dt.timedelta(hours=1)),
            tags=[str(company.get("industry") or "customer").lower().replace(" & ", "_").replace(" ", "_")],
        )

    @staticmethod
    def _users(world: World, index: int, org: Organization, next_offset: int) -> list[User]:
        seed = world.seed
        members: list[User] = []
        for person in world.people(index):
            key = (index, person.position)
            stream = rng(seed, "support-user", *key).random
            known, email_kept, phone_kept, phone_style, joined, touched = (stream() for _ in range(6))
            if known >= 0.8:
                continue
            email = person.email if person.email and email_kept < 0.95 else None
            phone = None
            if person.phone and phone_kept < 0.5:
                style = "international" if phone_style < 0.6 else "e164"
                phone = phone_variant(person.phone, world.company(index).get("country"), style)
            if email is None and phone is None:
                continue
            created = org.created + dt.timedelta(days=int(joined * 120))
            created = min(created, REFERENCE_DATE - dt.timedelta(hours=2))
            members.append(
                User(
                    id=USER_ID_BASE + next_offset + len(members) + 1,
                    organization_id=org.id,
                    name=f"{person.first_name} {person.last_name}".strip(),
                    # The desk stores addresses lower-cased.
                    email=email.lower() if email else None,
                    phone=phone,
                    role="end-user",
                    created=created,
                    updated=created + dt.timedelta(days=int(touched * 60)),
                    locale="en-US",
                    time_zone="UTC",
                )
            )
        return members

    @staticmethod
    def _tickets(
        world: World, index: int, org: Organization, members: list[User], agents: list[User]
    ) -> list[tuple[dt.datetime, float, Ticket]]:
        draw = rng(world.seed, "support-tickets", index)
        count = (0, 0, 1, 1, 1, 2, 2, 3, 4, 6)[int(draw.random() * 10)]
        reference = REFERENCE_DATE - dt.timedelta(hours=1)
        earliest = max(org.created, REFERENCE_DATE - dt.timedelta(days=730))
        span = max((reference - earliest).total_seconds(), 3600)
        drafts = []
        for _ in range(count):
            created = earliest + dt.timedelta(seconds=int(draw.random() * span))
            age_days = (reference - created).days
            if age_days > 30:
                status = draw.choices(("closed", "solved", "pending", "open"), (60, 30, 5, 5))[0]
            elif age_days > 7:
                status = draw.choices(("solved", "pending", "open", "closed", "hold"), (40, 20, 28, 10, 2))[0]
            else:
                status = draw.choices(("new", "open", "pending", "solved"), (35, 40, 15, 10))[0]
            touched = 0 if status == "new" else draw.random() * min(age_days, 20) * 86400
            updated = min(created + dt.timedelta(seconds=int(touched) + 60), reference)
            requester = members[int(draw.random() * len(members))]
            subject = _SUBJECTS[int(draw.random() * len(_SUBJECTS))]
            priority = draw.choices((None, "low", "normal", "high", "urgent"), (10, 20, 45, 20, 5))[0]
            ticket = Ticket(
                id=0,
                requester_id=requester.id,
                assignee_id=agents[int(draw.random() * len(agents))].id,
                organization_id=org.id,
                subject=subject,
                description=f"{subject.replace(' {n}', '')}. Please get back to us. - {requester.name}",
                status=status,
                priority=priority,
                type=draw.choices((None, "question", "incident", "problem", "task"), (20, 40, 30, 5, 5))[0],
                channel=draw.choices(("email", "web", "api", "voice"), (55, 30, 5, 10))[0],
                created=created,
                updated=updated,
                tags=[status if status in ("closed", "solved") else "needs_reply"],
            )
            drafts.append((created, draw.random(), ticket))
        return drafts
