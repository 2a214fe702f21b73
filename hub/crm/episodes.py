"""Timeline episodes and the registry through which silo entities contribute them.

A silo entity joins a customer's timeline by declaring how one of its canonical records becomes an
episode: which kind, which timestamp, title and amount, and how records are found for a customer (by the
customer's external id in each linked source, or by the customer's email). Registering a provider is all a
new silo needs; the timeline service does the batched reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Any, Literal

from adapters.sdk import CampaignActivity, Entity, Invoice, Order, Payment, Ticket


@dataclass(frozen=True, slots=True)
class Episode:
    kind: str  # "order", "invoice", "activity", "opportunity" ...
    occurred_at: dt.datetime
    title: str
    #: Unique within the kind: ``<source>:<external id>`` for silo records, the CRM id otherwise.
    key: str
    source: str  # the silo's name, or "crm"
    action: str | None = None  # what happened: "call", "stage_changed", "won" ...
    amount: Decimal | None = None
    currency: str | None = None
    actor: str | None = None
    reference_id: str | None = None


def _none(_record: Any) -> None:
    return None


@dataclass(frozen=True)
class EpisodeProvider:
    """How records of one canonical entity become timeline episodes."""

    kind: str
    entity: Entity
    timestamp: Callable[[Any], dt.datetime | None]
    title: Callable[[Any], str]
    amount: Callable[[Any], Decimal | None] = _none
    currency: Callable[[Any], str | None] = _none
    action: Callable[[Any], str | None] = _none
    #: Find a customer's records by its external id in each linked source, or by its email address.
    match_on: Literal["customer_external_id", "email"] = "customer_external_id"

    def episode(self, record: Any) -> Episode | None:
        when = self.timestamp(record) or record.updated_at
        if when is None:  # a record without any date has no place on a timeline
            return None
        return Episode(
            kind=self.kind,
            occurred_at=when,
            title=self.title(record),
            key=f"{record.source}:{record.external_id}",
            source=record.source,
            action=self.action(record),
            amount=self.amount(record),
            currency=self.currency(record),
            reference_id=record.external_id,
        )


class EpisodeRegistry:
    def __init__(self) -> None:
        self._providers: dict[str, EpisodeProvider] = {}

    def register(self, provider: EpisodeProvider) -> EpisodeProvider:
        if provider.kind in self._providers or provider.kind in CRM_KINDS:
            raise ValueError(f"timeline kind {provider.kind!r} is already registered")
        self._providers[provider.kind] = provider
        return provider

    def providers(self) -> list[EpisodeProvider]:
        return list(self._providers.values())

    def kinds(self) -> list[str]:
        return list(self._providers)


#: Kinds the CRM itself contributes (activities, competitor notes, lead and opportunity events).
CRM_KINDS = ("activity", "competitor_note", "lead", "opportunity")


def _number(prefix: str, record: Any) -> str:
    return f"{prefix} {record.number or record.external_id}"


def _dated_by(record_type: type, field: str) -> Callable[[Any], dt.datetime | None]:
    """The record's own moment; None (so ``updated_at`` stands in) for a record of another type."""
    return lambda r: getattr(r, field) if isinstance(r, record_type) else None


def _registry(*providers: EpisodeProvider) -> EpisodeRegistry:
    registry = EpisodeRegistry()
    for provider in providers:
        registry.register(provider)
    return registry


SILO_EPISODES = _registry(
    EpisodeProvider(
        kind="order",
        entity=Entity.ORDER,
        timestamp=_dated_by(Order, "ordered_at"),
        title=lambda r: _number("Order", r) + (f" ({r.status})" if r.status else ""),
        amount=attrgetter("total"),
        currency=attrgetter("currency"),
        action=attrgetter("status"),
    ),
    EpisodeProvider(
        kind="invoice",
        entity=Entity.INVOICE,
        timestamp=_dated_by(Invoice, "issued_at"),
        title=lambda r: _number("Invoice", r),
        amount=attrgetter("total"),
        currency=attrgetter("currency"),
    ),
    EpisodeProvider(
        kind="payment",
        entity=Entity.PAYMENT,
        timestamp=_dated_by(Payment, "paid_at"),
        title=lambda r: "Payment received",
        amount=attrgetter("amount"),
        currency=attrgetter("currency"),
    ),
    EpisodeProvider(
        kind="ticket",
        entity=Entity.TICKET,
        timestamp=_dated_by(Ticket, "created_at"),
        title=lambda r: f"Ticket: {r.subject}",
        action=attrgetter("status"),
    ),
    EpisodeProvider(
        kind="campaign",
        entity=Entity.CAMPAIGN_ACTIVITY,
        timestamp=_dated_by(CampaignActivity, "occurred_at"),
        title=lambda r: f"Campaign {r.campaign_name or r.campaign_id}: {r.action}",
        action=attrgetter("action"),
        match_on="email",
    ),
)
