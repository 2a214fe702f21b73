"""Canonical records of the demo silos, read straight from their data builders (no HTTP, no adapters), with
the silos' answer key, for scoring identity resolution quickly and at any size.

Each silo record is mapped the way an adapter maps the upstream's JSON: accounting ``DisplayName`` ->
``name``, ``CompanyName`` -> ``legal_name``, ``BillAddr`` -> ``address``; a help-desk organization's first
domain -> ``website`` and its end users -> contacts; a marketing member's merge fields -> its fields. The
foreign references some silos carry (ERP codes in notes, external ids, merge fields) are left out on purpose:
identity resolution must link records by what they say, not by a key a real silo rarely has.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from adapters.sdk import Address, Contact, CustomerRecord, MarketingMember
from hub.identity.attributes import Profile, RecordKey, contacts_by_customer, profile_of
from silos.accounting.data import AccountingData
from silos.marketing.data import MarketingData
from silos.support.data import SupportData
from silos.world import World

#: Ground-truth entity names -> canonical entities.
GROUND_TRUTH_ENTITIES = {"customer": "customer", "organization": "customer", "member": "marketing_member"}


@dataclass
class SiloRecords:
    customers: dict[str, list[CustomerRecord]] = field(default_factory=dict)
    contacts: dict[str, list[Contact]] = field(default_factory=dict)
    members: dict[str, list[MarketingMember]] = field(default_factory=dict)
    #: Record -> real-world entity (the silos' ground truth).
    truth: dict[RecordKey, str] = field(default_factory=dict)

    def count(self) -> int:
        return sum(len(v) for v in self.customers.values()) + sum(len(v) for v in self.members.values())

    def profiles(self) -> list[Profile]:
        out: list[Profile] = []
        for source, records in self.customers.items():
            related = contacts_by_customer(self.contacts.get(source, []))
            for record in records:
                profile = profile_of(record, related.get(record.external_id, ()))
                if profile is not None:
                    out.append(profile)
        for members in self.members.values():
            for member in members:
                profile = profile_of(member)
                if profile is not None:
                    out.append(profile)
        return out


def _erp(world: World, out: SiloRecords) -> None:
    customers, contacts = [], []
    for index in range(world.size):
        row = world.company(index)
        customers.append(
            CustomerRecord(
                source="erp",
                external_id=str(row["id"]),
                name=row["name"],
                legal_name=row["name"],
                email=row.get("email"),
                phone=row.get("phone"),
                website=row.get("website"),
                tax_id=row.get("tax_id"),
                industry=row.get("industry"),
                address=Address(
                    street=row.get("street"),
                    city=row.get("city"),
                    region=row.get("region"),
                    postal_code=row.get("postal_code"),
                    country=row.get("country"),
                ),
                updated_at=row.get("updated_at"),
            )
        )
        out.truth[("erp", "customer", str(row["id"]))] = world.cluster_id(index)
        for contact in world.erp.contacts_of(index):
            contacts.append(
                Contact(
                    source="erp",
                    external_id=str(contact["id"]),
                    customer_external_id=str(row["id"]),
                    first_name=contact.get("first_name"),
                    last_name=contact.get("last_name"),
                    email=contact.get("email"),
                    phone=contact.get("phone"),
                )
            )
    out.customers["erp"], out.contacts["erp"] = customers, contacts


def _accounting(data: AccountingData, out: SiloRecords) -> None:
    records = []
    for c in data.customers:
        records.append(
            CustomerRecord(
                source="accounting",
                external_id=str(c.id),
                name=c.display_name,
                legal_name=c.company_name,
                email=c.email,
                phone=c.phone,
                website=c.website,
                address=Address(
                    street=c.line1, city=c.city, region=c.region, postal_code=c.postal_code, country=c.country
                ),
                updated_at=c.updated,
            )
        )
        out.truth[("accounting", "customer", str(c.id))] = c.cluster_id
    out.customers["accounting"] = records


def _split_name(name: str) -> tuple[str | None, str | None]:
    first, _, last = name.partition(" ")
    return first or None, last or None


def _support(data: SupportData, out: SiloRecords) -> None:
    records, contacts = [], []
    for org in data.organizations:
        records.append(
            CustomerRecord(
                source="support",
                external_id=str(org.id),
                name=org.name,
                website=org.domain_names[0] if org.domain_names else None,
                updated_at=org.updated,
            )
        )
        out.truth[("support", "customer", str(org.id))] = org.cluster_id
    for user in data.users:
        if user.organization_id is None or user.role != "end-user":
            continue
        first, last = _split_name(user.name)
        contacts.append(
            Contact(
                source="support",
                external_id=str(user.id),
                customer_external_id=str(user.organization_id),
                first_name=first,
                last_name=last,
                email=user.email,
                phone=user.phone,
                updated_at=user.updated,
            )
        )
    out.customers["support"], out.contacts["support"] = records, contacts


def _marketing(data: MarketingData, out: SiloRecords) -> None:
    records = []
    for m in data.members:
        records.append(
            MarketingMember(
                source="marketing",
                external_id=m.id,
                email=m.email,
                status=m.status,
                first_name=m.first_name or None,
                last_name=m.last_name or None,
                company=m.company or None,
                phone=m.phone or None,
                updated_at=m.last_changed,
            )
        )
        out.truth[("marketing", "marketing_member", m.id)] = m.cluster_id
    out.members["marketing"] = records


def silo_records(size: int, *, seed: int = 42) -> SiloRecords:
    """Every matchable record of the four demo silos for ``(size, seed)``, with the answer key."""
    world = World(size, seed=seed)
    out = SiloRecords()
    _erp(world, out)
    _accounting(AccountingData.build(world), out)
    _support(SupportData.build(world), out)
    _marketing(MarketingData.build(world), out)
    return out


def iter_truth(records: SiloRecords) -> Iterator[tuple[RecordKey, str]]:
    yield from records.truth.items()
