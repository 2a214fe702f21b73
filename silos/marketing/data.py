"""The marketing silo's audience: contacts of some customers plus leads that are not customers yet (about a
fifth of the members), the monthly campaigns sent to them and who opened, clicked or bounced.

Members are keyed by the MD5 of their lower-cased address, as in the product. Campaign recipients and their
activity are worked out on first use of a campaign and kept as compact arrays; per-event timestamps are
derived when a page is rendered.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import random
import time
from array import array
from dataclasses import dataclass
from typing import Any

from .._hashing import hex_id, rng, unit
from ..variants import company_name_variant, country_of, email_case_variant, phone_variant
from ..world import REFERENCE_DATE, Person, World, as_utc, building

STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending")
LEAD_SHARE = 0.20
CAMPAIGN_COUNT = 12
#: Opens and clicks happen within this window after a send.
ACTIVITY_WINDOW = dt.timedelta(hours=72)
_SOURCES = ("Hosted Signup Form", "Import", "API - Generic", "Admin Add")

# Activity codes per recipient: bits 0-1 open count (0-3), bit 2 clicked, bit 3 bounced.
_OPENS, _CLICK, _BOUNCE = 0b0011, 0b0100, 0b1000


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


@dataclass(slots=True)
class Member:
    index: int
    id: str
    email: str
    status: str
    first_name: str
    last_name: str
    company: str
    phone: str
    erp_code: str
    cluster_id: str
    is_lead: bool
    country_code: str
    signup: dt.datetime
    opt: dt.datetime | None
    last_changed: dt.datetime
    rating: int
    open_rate: float
    click_rate: float
    source: str


@dataclass(frozen=True, slots=True)
class Campaign:
    number: int
    id: str
    web_id: int
    title: str
    subject: str
    send_time: dt.datetime


class CampaignReport:
    """Recipients (member indices, ascending) and their activity codes for one campaign."""

    def __init__(self, campaign: Campaign, members: list[Member], seed: int) -> None:
        self.campaign = campaign
        self.recipients = array("I")
        codes = bytearray()
        draw = random.Random(f"{seed}/campaign/{campaign.number}")
        sent = campaign.send_time
        for member in members:
            if member.opt is None or member.opt > sent:
                continue
            if member.status != "subscribed" and member.last_changed <= sent:
                continue
            code = 0
            if member.status == "cleaned" and member.last_changed - sent < dt.timedelta(days=35):
                code = _BOUNCE
            elif draw.random() < member.open_rate:
                code = 1 + (draw.random() < 0.3) + (draw.random() < 0.15)
                if draw.random() < member.click_rate / max(member.open_rate, 0.01):
                    code |= _CLICK
            self.recipients.append(member.index)
            codes.append(code)
        self.codes = bytes(codes)
        self.unique_opens = sum(1 for c in self.codes if c & _OPENS)
        self.opens = sum(c & _OPENS for c in self.codes)
        self.clicks = sum(1 for c in self.codes if c & _CLICK)
        self.bounces = sum(1 for c in self.codes if c & _BOUNCE)

    def active_positions(self) -> list[int]:
        """Positions of recipients who opened, clicked or bounced."""
        return [position for position, code in enumerate(self.codes) if code]

    def position_of(self, member_index: int) -> int | None:
        position = bisect.bisect_left(self.recipients, member_index)
        ok = position < len(self.recipients) and self.recipients[position] == member_index
        return position if ok else None

    def activity(self, position: int, seed: int) -> list[dict[str, object]]:
        """The events of one recipient, oldest first."""
        code = self.codes[position]
        member_index = self.recipients[position]
        sent = self.campaign.send_time

        def offset(*parts: object) -> dt.datetime:
            seconds = int(unit(seed, "activity", self.campaign.number, member_index, *parts) * 60 * 3600)
            return sent + dt.timedelta(seconds=120 + seconds)

        timed: list[tuple[dt.datetime, dict[str, object]]] = []
        if code & _BOUNCE:
            timed.append((sent + dt.timedelta(minutes=3), {"action": "bounce", "type": "hard"}))
        opens = sorted(offset("open", k) for k in range(code & _OPENS))
        timed += [(moment, {"action": "open", "ip": ""}) for moment in opens]
        if code & _CLICK:
            clicked = (opens[0] if opens else sent) + dt.timedelta(
                seconds=int(unit(seed, "click", member_index) * 600) + 5
            )
            url = f"https://shop.crmhub-demo.example/offers/{self.campaign.number}"
            timed.append((clicked, {"action": "click", "url": url, "ip": ""}))
        timed.sort(key=lambda pair: pair[0])
        return [{**event, "timestamp": moment} for moment, event in timed]


class MarketingData:
    def __init__(
        self, list_id: str, list_name: str, members: list[Member], campaigns: list[Campaign], seed: int
    ):
        self.seed = seed
        self.list_id = list_id
        self.list_name = list_name
        self.list_created = REFERENCE_DATE - dt.timedelta(days=5 * 365)
        self.members = members  # position = Member.index
        self.by_hash = {m.id: m for m in members}
        self.by_name_token: dict[str, list[int]] = {}
        for member in members:
            tokens = {t for t in f"{member.first_name} {member.last_name}".lower().split() if t}
            for token in tokens:
                self.by_name_token.setdefault(token, []).append(member.index)
        self.campaigns = campaigns
        self.campaign_by_id = {c.id: c for c in campaigns}
        self._reports: dict[str, CampaignReport] = {}
        self._filtered: dict[tuple[object, ...], list[Member]] = {}
        self.build_seconds = 0.0

    def report(self, campaign_id: str) -> CampaignReport:
        if campaign_id not in self._reports:
            self._reports[campaign_id] = CampaignReport(
                self.campaign_by_id[campaign_id], self.members, self.seed
            )
        return self._reports[campaign_id]

    def filtered(
        self, status: str | None, since: dt.datetime | None, before: dt.datetime | None
    ) -> list[Member]:
        """Members matching list filters; cached because clients page through the same filter."""
        key = (status, since, before)
        if key not in self._filtered:
            if len(self._filtered) > 32:
                self._filtered.clear()
            self._filtered[key] = [
                m
                for m in self.members
                if (status is None or m.status == status)
                and (since is None or m.last_changed > since)
                and (before is None or m.last_changed < before)
            ]
        return self._filtered[key]

    def status_counts(self) -> dict[str, int]:
        return dict(self._summary[0])

    def last_subscription(self) -> dt.datetime | None:
        return self._summary[1]

    @functools.cached_property
    def _summary(self) -> tuple[dict[str, int], dt.datetime | None]:
        counts = dict.fromkeys(STATUSES, 0)
        for member in self.members:
            counts[member.status] += 1
        opted = [m.opt for m in self.members if m.opt and m.status == "subscribed"]
        return counts, max(opted, default=None)

    # -- building ------------------------------------------------------------------------------------

    @classmethod
    def build(cls, world: World) -> MarketingData:
        with building():
            return cls._build(world)

    @classmethod
    def _build(cls, world: World) -> MarketingData:
        started = time.perf_counter()
        seed = world.seed
        members: list[Member] = []
        seen: set[str] = set()
        for index in range(world.size):
            if not world.in_marketing(index):
                continue
            company = world.company(index)
            for person in world.people(index):
                key = (index, person.position)
                if not person.email or unit(seed, "mkt-member", *key) >= 0.85 or person.email in seen:
                    continue
                seen.add(person.email)
                members.append(
                    cls._member(world, len(members), person, company, world.cluster_id(index), False)
                )
        wanted_leads = round(len(members) * LEAD_SHARE / (1 - LEAD_SHARE))
        leads = 0
        for n in range(world.lead_company_count):
            if leads >= wanted_leads:
                break
            company = world.lead_company(n)
            for person in world.lead_people(n)[:2]:
                if not person.email or person.email in seen or leads >= wanted_leads:
                    continue
                seen.add(person.email)
                members.append(cls._member(world, len(members), person, company, world.lead_cluster(n), True))
                leads += 1
        # The audience lists members in sign-up order; indices follow that order.
        members.sort(key=lambda m: (m.signup, m.id))
        for position, member in enumerate(members):
            member.index = position
        campaigns = cls._campaigns(seed)
        data = cls(hex_id(10, seed, "audience"), "Customer Newsletter", members, campaigns, seed)
        data.build_seconds = time.perf_counter() - started
        return data

    @staticmethod
    def _member(
        world: World, position: int, person: Person, company: dict[str, Any], cluster_id: str, lead: bool
    ) -> Member:
        seed, key = world.seed, (person.company_index, person.position)
        email = person.email or ""
        stream = rng(seed, "mkt-member-fields", *key).random
        status_draw = stream()
        weights = (0.55, 0.65, 0.70) if lead else (0.70, 0.84, 0.90)
        status = next((s for s, w in zip(STATUSES, weights, strict=False) if status_draw < w), "pending")
        created = as_utc(company.get("created_at") or REFERENCE_DATE - dt.timedelta(days=900))
        earliest = max(created, REFERENCE_DATE - dt.timedelta(days=5 * 365))
        span = max((REFERENCE_DATE - dt.timedelta(days=1) - earliest).total_seconds(), 3600)
        signup = earliest + dt.timedelta(seconds=int(stream() * span))
        opt = None if status == "pending" else signup + dt.timedelta(minutes=2 + int(stream() * 600))
        last_changed = opt or signup
        if status in ("unsubscribed", "cleaned"):
            remaining = max((REFERENCE_DATE - last_changed).total_seconds() - 3600, 60)
            last_changed += dt.timedelta(seconds=int(stream() * remaining))
        name_draw = stream()
        company_field = ""
        if name_draw < 0.6:
            style = "plain" if name_draw < 0.4 else "legal" if name_draw < 0.55 else "typo"
            company_field = company_name_variant(
                company.get("name") or "", company.get("legal_form"), style, name_draw
            )
        phone = ""
        phone_kept, phone_style = stream(), stream()
        if person.phone and phone_kept < 0.3:
            style = "national" if phone_style < 0.5 else "international"
            phone = phone_variant(person.phone, company.get("country"), style) or ""
        open_rate = round(0.05 + stream() * 0.6, 2)
        country = country_of(company.get("country"))
        return Member(
            index=position,
            id=subscriber_hash(email),
            email=email_case_variant(email, stream()) or email,
            status=status,
            first_name=person.first_name,
            last_name=person.last_name,
            company=company_field,
            phone=phone,
            erp_code="" if lead else str(company.get("code") or ""),
            cluster_id=cluster_id,
            is_lead=lead,
            country_code=country.code if country else "",
            signup=signup,
            opt=opt,
            last_changed=last_changed,
            rating=1 + int(stream() * 5),
            open_rate=open_rate,
            click_rate=round(open_rate * stream() * 0.5, 2),
            source=_SOURCES[int(stream() * len(_SOURCES))],
        )

    @staticmethod
    def _campaigns(seed: int) -> list[Campaign]:
        campaigns = []
        for k in range(CAMPAIGN_COUNT):
            months_back = CAMPAIGN_COUNT - k
            year, month = REFERENCE_DATE.year, REFERENCE_DATE.month - months_back
            while month < 1:
                year, month = year - 1, month + 12
            send = dt.datetime(year, month, 10, 9, 0, tzinfo=dt.UTC)
            title = f"Newsletter {send:%B %Y}"
            campaigns.append(
                Campaign(
                    number=k,
                    id=hex_id(10, seed, "campaign", k),
                    web_id=100_000 + k,
                    title=title,
                    subject=f"{send:%B}: new products and offers",
                    send_time=send,
                )
            )
        return campaigns
