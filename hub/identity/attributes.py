"""Match attributes of a silo record: its raw values and their normalized forms, in one ``Profile``.

A customer record contributes its own name, e-mail, phone, website, tax id and address; its contacts (the
ERP's contact persons, the help desk's end users) add their e-mail addresses and phone numbers, because a
marketing member or an accounting customer is often known only by one of those people. A marketing member
contributes its e-mail, company and phone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.sdk import CanonicalRecord, Contact, CustomerRecord, MarketingMember

from .company_names import company_name_parts
from .normalize import (
    is_webmail,
    normalize_city,
    normalize_country,
    normalize_email,
    normalize_phone,
    normalize_postal_code,
    normalize_street,
    normalize_tax_id,
    region_from_domain,
    website_domain,
)

RecordKey = tuple[str, str, str]
"""``(source, entity, external_id)``: a record anywhere in the silos."""

#: One attribute's values: ``(raw, normalized)`` pairs, deduplicated on the normalized value.
Values = tuple[tuple[str, str], ...]


@dataclass(slots=True, eq=False)
class Profile:
    """What the engine knows about one record."""

    source: str
    entity: str
    external_id: str
    #: The record's display name (a member's address when it names no company).
    name: str
    country: str | None = None
    updated_at: dt.datetime | None = None
    values: dict[str, Values] = field(default_factory=dict)
    #: Normalized values per attribute as sets, for O(1) exact comparisons.
    norm: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def key(self) -> RecordKey:
        return (self.source, self.entity, self.external_id)

    def __post_init__(self) -> None:
        if not self.norm and self.values:
            self.norm = {name: frozenset(n for _, n in pairs) for name, pairs in self.values.items()}

    def raw(self, attribute: str) -> frozenset[str]:
        return frozenset(r for r, _ in self.values.get(attribute, ()))

    def normalized(self, attribute: str) -> frozenset[str]:
        return self.norm.get(attribute, frozenset())

    def raw_of(self, attribute: str, normalized: str) -> str | None:
        return next((r for r, n in self.values.get(attribute, ()) if n == normalized), None)

    # -- storage -------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, list[list[str]]]:
        return {name: [list(pair) for pair in pairs] for name, pairs in self.values.items()}

    @classmethod
    def from_json(
        cls,
        key: RecordKey,
        data: Mapping[str, Any],
        *,
        name: str,
        country: str | None,
        updated_at: dt.datetime | None,
    ) -> Profile:
        values = {attr: tuple((str(r), str(n)) for r, n in pairs) for attr, pairs in data.items()}
        return cls(key[0], key[1], key[2], name=name, country=country, updated_at=updated_at, values=values)


class _Collector:
    """Accumulates ``normalized -> raw`` per attribute, skipping empties and repeats (first raw wins)."""

    __slots__ = ("region_hint", "values")

    def __init__(self) -> None:
        self.values: dict[str, dict[str, str]] = {}
        #: A country guessed from a mail or web domain, for phone numbers of records that state none.
        self.region_hint: str | None = None

    def add(self, attribute: str, raw: str | None, normalized: str | None) -> None:
        if raw and normalized:
            bucket = self.values.get(attribute)
            if bucket is None:
                self.values[attribute] = {normalized: raw.strip()}
            elif normalized not in bucket:
                bucket[normalized] = raw.strip()

    def add_company_name(self, raw: str | None) -> None:
        name, form = company_name_parts(raw)
        self.add("company_name", raw, name)
        self.add("legal_form", raw, form)

    def add_email(self, raw: str | None) -> None:
        address = normalize_email(raw) if raw else None
        if address is None:
            return
        self.add("email", raw, address)
        domain = address.rsplit("@", 1)[1]
        if not is_webmail(domain):
            self.add("email_domain", raw, domain)
            self.add("domain", raw, domain)
            if self.region_hint is None:
                self.region_hint = region_from_domain(domain)

    def profile(self, record: CanonicalRecord, *, name: str, country: str | None) -> Profile:
        values: dict[str, Values] = {}
        norm: dict[str, frozenset[str]] = {}
        for attr, bucket in self.values.items():
            if len(bucket) == 1:  # the common case, built without zip (once per attribute of every record)
                for normalized, raw in bucket.items():
                    values[attr] = ((raw, normalized),)
            else:
                values[attr] = tuple(zip(bucket.values(), bucket, strict=True))
            norm[attr] = frozenset(bucket)
        return Profile(
            record.source,
            record.entity.value,
            record.external_id,
            name=name,
            country=country,
            updated_at=record.updated_at,
            values=values,
            norm=norm,
        )


def _phones(collector: _Collector, phones: Iterable[str | None], region: str | None) -> None:
    for raw in phones:
        if raw:
            collector.add("phone", raw, normalize_phone(raw, region))


def customer_profile(record: CustomerRecord, contacts: Sequence[Contact] = ()) -> Profile:
    collector = _Collector()
    address = record.address
    country = normalize_country(address.country) if address else None
    for name in (record.name, record.legal_name):
        collector.add_company_name(name)
    collector.add_email(record.email)
    for contact in contacts:
        collector.add_email(contact.email)
    domain = website_domain(record.website)
    collector.add("website_domain", record.website, domain)
    collector.add("domain", record.website, domain)
    region = country or collector.region_hint or region_from_domain(domain)
    _phones(collector, [record.phone, *(c.phone for c in contacts)], region)
    collector.add("tax_id", record.tax_id, normalize_tax_id(record.tax_id, country))
    if address is not None:
        collector.add("postal_code", address.postal_code, normalize_postal_code(address.postal_code, country))
        collector.add("city", address.city, normalize_city(address.city))
        collector.add("street", address.street, normalize_street(address.street))
        collector.add("country", address.country, country)
    return collector.profile(record, name=record.name, country=country)


def member_profile(record: MarketingMember) -> Profile:
    collector = _Collector()
    collector.add_email(record.email)
    collector.add_company_name(record.company)
    # A member states no country; its mail domain's country code is the best guess for national numbers.
    _phones(collector, [record.phone], collector.region_hint)
    return collector.profile(record, name=record.company or record.email, country=None)


def profile_of(record: CanonicalRecord, contacts: Sequence[Contact] = ()) -> Profile | None:
    """The profile of a record the engine can match, ``None`` for any other entity."""
    if isinstance(record, CustomerRecord):
        return customer_profile(record, contacts)
    if isinstance(record, MarketingMember):
        return member_profile(record)
    return None


def contacts_by_customer(contacts: Iterable[CanonicalRecord]) -> dict[str, list[Contact]]:
    grouped: dict[str, list[Contact]] = {}
    for contact in contacts:
        if isinstance(contact, Contact) and contact.customer_external_id:
            grouped.setdefault(contact.customer_external_id, []).append(contact)
    return grouped


def profiles_of(
    records: Iterable[CanonicalRecord], contacts: Mapping[str, Sequence[Contact]] | None = None
) -> Iterator[Profile]:
    """Profiles of matchable records; ``contacts`` maps a customer's external id to its contacts (one
    source's contacts: pass them per source)."""
    for record in records:
        related = contacts.get(record.external_id, ()) if contacts else ()
        profile = profile_of(record, related)
        if profile is not None:
            yield profile
