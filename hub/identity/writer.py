"""Turning clusters into the identity map: stable hub ids, links with their reasons, golden snapshots.

Hub ids never change for a customer that keeps its records: a cluster takes the id most of its records are
already linked to (each id goes to one cluster at most). A cluster with none gets the id derived from its
anchor record (reviving it if that customer had been merged away), and an id whose records all went to
another cluster is merged into it, so the old id keeps resolving. Clusters holding a customer record of a
seed source or a manually linked record become customers; a cluster that only carries an earlier
customer's id keeps it while no such cluster claims it; any other cluster (a marketing lead alone, a record
that stopped matching) links to no customer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..store.models import CustomerLink, HubCustomer, utcnow
from .attributes import Profile, RecordKey
from .bulk import bulk_insert, bulk_update
from .engine import Attachment, Resolution
from .ids import hub_customer_id
from .normalize import search_text

_BATCH = 2000
#: Attributes whose raw values make a customer's search text.
_SEARCHED = ("company_name", "email", "phone", "tax_id")


@dataclass
class WriteReport:
    customers_created: int = 0
    customers_revived: int = 0
    customers_merged: int = 0
    links_added: int = 0
    links_changed: int = 0
    links_removed: int = 0
    customers: int = 0
    #: Clusters that became no customer (e.g. marketing leads with no customer record).
    unlinked_clusters: int = 0
    assigned: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Link:
    id: int
    hub_customer_id: str
    rule: str
    score: float
    manual: bool


def _snapshot(profiles: Sequence[Profile], members: Sequence[int]) -> dict[str, Any]:
    """Listing snapshot of a customer: name of its first customer record (members come in anchor order),
    searchable text of every record's names, e-mails, phones and tax ids."""
    records = [profiles[i] for i in members]
    customers = [p for p in records if p.entity == "customer"] or records
    parts: list[str] = []
    for profile in records:
        parts.append(profile.name)
        values = profile.values
        for attribute in _SEARCHED:
            pairs = values.get(attribute)
            if pairs:
                parts.extend(raw for raw, _ in pairs)
    return {
        "display_name": (customers[0].name or "")[:300],
        "search_text": search_text(parts),
        "country": next((p.country for p in customers if p.country), None),
    }


async def write_resolution(
    session: AsyncSession,
    resolution: Resolution,
    *,
    managed: set[tuple[str, str]],
    seed_sources: Sequence[str],
) -> WriteReport:
    """Write hub customers and links for every cluster of ``resolution``. ``managed`` lists the
    (source, entity) pairs identity resolution owns links of; links of other pairs (e.g. a converted CRM
    lead) are left alone, except that they follow their customer when it is merged away."""
    report = WriteReport()
    profiles = resolution.profiles
    now = utcnow()
    existing: dict[RecordKey, _Link] = {}
    for row in await session.execute(
        select(
            CustomerLink.id,
            CustomerLink.hub_customer_id,
            CustomerLink.source,
            CustomerLink.entity,
            CustomerLink.external_id,
            CustomerLink.rule,
            CustomerLink.score,
            CustomerLink.manual,
        )
    ):
        if (row.source, row.entity) in managed:
            existing[(row.source, row.entity, row.external_id)] = _Link(
                row.id, row.hub_customer_id, row.rule, row.score, row.manual
            )
    customers = {
        row.id: row.merged_into
        for row in await session.execute(select(HubCustomer.id, HubCustomer.merged_into))
    }
    seeds = set(seed_sources)

    # 1. Which clusters become customers, and the id each one keeps. A cluster with a seed-source customer
    # record or a manually linked record is a customer; one that only carries the id of an earlier
    # customer keeps it while no such cluster claims it (its seed record was deleted, say). Among the
    # clusters claiming an id, the one with most records linked to it wins; on a tie, the one holding the
    # record the id was derived from.
    primary: set[int] = set()
    votes: list[tuple[bool, int, int, int, str]] = []
    for number, cluster in enumerate(resolution.clusters):
        keys = [profiles[i].key for i in cluster.members]
        linked = (
            Counter(existing[k].hub_customer_id for k in keys if k in existing) if existing else Counter()
        )
        if any(k[0] in seeds and k[1] == "customer" for k in keys) or any(
            existing[k].manual for k in keys if k in existing
        ):
            primary.add(number)
        origins = (
            {hub_customer_id(k[0], k[2]): position for position, k in reversed(list(enumerate(keys)))}
            if len(linked) > 1
            else {}
        )
        votes.extend(
            (number not in primary, -count, origins.get(customer_id, len(keys)), number, customer_id)
            for customer_id, count in linked.items()
        )
    assigned: dict[int, str] = {}
    taken: set[str] = set()
    for _, _, _, number, customer_id in sorted(votes):
        if number not in assigned and customer_id not in taken and customers.get(customer_id, "") is None:
            assigned[number] = customer_id
            taken.add(customer_id)
    new_rows, revived = [], []
    for number in sorted(primary - set(assigned)):
        cluster = resolution.clusters[number]
        customer_id = _fresh_id(profiles, cluster.members, customers, taken)
        taken.add(customer_id)
        assigned[number] = customer_id
        if customer_id in customers:
            revived.append(customer_id)
        else:
            new_rows.append({"id": customer_id, "created_at": now, "updated_at": now})
    report.assigned = assigned

    # 2. Links: add, move, re-explain or drop, so that they say exactly what the clusters say.
    desired: dict[RecordKey, tuple[str, Attachment]] = {}
    for number, customer_id in assigned.items():
        cluster = resolution.clusters[number]
        for i in cluster.members:
            desired[profiles[i].key] = (customer_id, cluster.attachments[i])
    adds, changes, removals = [], [], []
    for key, (customer_id, attachment) in desired.items():
        link = existing.get(key)
        values = {"rule": attachment.rule, "score": round(attachment.score, 6), "manual": attachment.manual}
        if link is None:
            adds.append(
                {
                    "hub_customer_id": customer_id,
                    "source": key[0],
                    "entity": key[1],
                    "external_id": key[2],
                    "linked_at": now,
                    **values,
                }
            )
        elif link.hub_customer_id != customer_id:
            changes.append({"id": link.id, "hub_customer_id": customer_id, "linked_at": now, **values})
        elif (link.rule, round(link.score, 6), link.manual) != (
            values["rule"],
            values["score"],
            values["manual"],
        ):
            changes.append({"id": link.id, **values})  # same customer, new reason: keeps ``linked_at``
    for key, link in existing.items():
        if key not in desired:  # its cluster is no customer, or the record is gone from its silo
            removals.append(link.id)

    # 3. Ids that lost every record to other clusters are merged into where most of them went.
    previous_records: dict[str, list[RecordKey]] = {}
    for key, link in existing.items():
        previous_records.setdefault(link.hub_customer_id, []).append(key)
    merges: dict[str, str] = {}
    for customer_id, keys in previous_records.items():
        if customer_id in taken or customers.get(customer_id, "") is not None:
            continue
        targets = Counter(desired[k][0] for k in keys if k in desired)
        if targets:
            merges[customer_id] = targets.most_common(1)[0][0]

    snapshots = {
        customer_id: _snapshot(profiles, resolution.clusters[number].members)
        for number, customer_id in assigned.items()
    }
    if new_rows:
        rows = [{**r, **snapshots[str(r["id"])]} for r in new_rows]
        await bulk_insert(session, HubCustomer.__table__, rows)  # type: ignore[arg-type]
    for customer_id in revived:
        await session.execute(
            update(HubCustomer).where(HubCustomer.id == customer_id).values(merged_into=None, updated_at=now)
        )
    for start in range(0, len(removals), _BATCH):
        await session.execute(
            delete(CustomerLink).where(CustomerLink.id.in_(removals[start : start + _BATCH]))
        )
    await bulk_update(session, CustomerLink.__table__, changes)  # type: ignore[arg-type]
    await bulk_insert(session, CustomerLink.__table__, adds)  # type: ignore[arg-type]
    for loser, survivor in merges.items():
        await session.execute(
            update(CustomerLink).where(CustomerLink.hub_customer_id == loser).values(hub_customer_id=survivor)
        )
        await session.execute(
            update(HubCustomer)
            .where((HubCustomer.id == loser) | (HubCustomer.merged_into == loser))
            .values(merged_into=survivor, updated_at=now)
        )
    created = {str(r["id"]) for r in new_rows}
    await _refresh_snapshots(session, {k: v for k, v in snapshots.items() if k not in created}, now)

    report.customers_created = len(new_rows)
    report.customers_revived = len(revived)
    report.customers_merged = len(merges)
    report.links_added, report.links_changed, report.links_removed = len(adds), len(changes), len(removals)
    report.customers = len(assigned)
    report.unlinked_clusters = len(resolution.clusters) - len(assigned)
    return report


def _fresh_id(
    profiles: Sequence[Profile], members: Sequence[int], customers: dict[str, str | None], taken: set[str]
) -> str:
    """The id derived from the cluster's anchor (members are in anchor order), or from the next record,
    unless another cluster holds it; an existing customer with that id that no cluster holds is revived."""
    for generation in range(1000):
        for i in members:
            profile = profiles[i]
            candidate = hub_customer_id(profile.source, profile.external_id, generation)
            if candidate not in taken:
                return candidate
    raise RuntimeError("no free customer id")  # pragma: no cover - a thousand generations taken


async def _refresh_snapshots(session: AsyncSession, snapshots: dict[str, dict[str, Any]], now: Any) -> None:
    """Store the snapshots of existing customers that differ from what they hold."""
    if not snapshots:
        return
    current = {
        row.id: (row.display_name, row.search_text, row.country)
        for row in await session.execute(
            select(
                HubCustomer.id, HubCustomer.display_name, HubCustomer.search_text, HubCustomer.country
            ).where(HubCustomer.merged_into.is_(None))
        )
    }
    updates = [
        {"id": customer_id, "updated_at": now, **snapshot}
        for customer_id, snapshot in snapshots.items()
        if current.get(customer_id)
        != (snapshot["display_name"], snapshot["search_text"], snapshot["country"])
    ]
    await bulk_update(session, HubCustomer.__table__, updates)  # type: ignore[arg-type]
