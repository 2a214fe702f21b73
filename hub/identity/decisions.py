"""Admins' decisions: merging customers the rules kept apart, splitting records off a customer.

Each decision takes effect at once (links move, a new customer appears) and is stored, so every later run
of identity resolution replays it: merged records stay together whatever the rules say, split records never
rejoin the records they were split from. Decisions are replayed oldest first; a later decision wins over an
earlier one it contradicts (merging records that an earlier split kept apart cancels that split).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import InvalidInputError
from ..hub import Hub
from ..store.models import CustomerLink, HubCustomer, utcnow
from .attributes import RecordKey
from .engine import ManualConstraints
from .ids import hub_customer_id
from .normalize import search_text
from .settings import MANUAL_RULE
from .tables import IdentityDecision, IdentityRecord

MAX_MERGED = 50
MAX_SPLIT_RECORDS = 500


class NotFoundError(InvalidInputError):
    code = "NOT_FOUND"


def _key(value: Sequence[str]) -> RecordKey:
    return (str(value[0]), str(value[1]), str(value[2]))


def manual_constraints(decisions: Sequence[IdentityDecision]) -> ManualConstraints:
    """Replay decisions (oldest first) into must-link groups and splits for the engine."""
    groups: list[set[RecordKey]] = []
    splits: list[tuple[frozenset[RecordKey], frozenset[RecordKey]]] = []
    for decision in sorted(decisions, key=lambda d: (d.created_at, d.id)):
        side = {_key(k) for k in decision.records}
        other = {_key(k) for k in decision.counterpart}
        if decision.kind == "merge":
            together = side | other
            # Earlier groups touching these records join them; earlier splits across them are cancelled.
            joined = [g for g in groups if g & together]
            groups = [g for g in groups if not g & together]
            groups.append(together.union(*joined))
            splits = [(a, b) for a, b in splits if not (a & together and b & together)]
        elif decision.kind == "split":
            # Earlier groups lose the split-off records (which stay together among themselves).
            regrouped: list[set[RecordKey]] = []
            for group in groups:
                regrouped.extend(g for g in (group - side, group & side) if len(g) > 1)
            groups = regrouped
            if len(side) > 1:
                groups.append(set(side))
            if side and other:
                splits.append((frozenset(side), frozenset(other)))
    must_link = tuple(
        (anchor, member)
        for group in groups
        for anchor in [min(group)]
        for member in sorted(group)
        if member != anchor
    )
    return ManualConstraints(must_link=must_link, splits=tuple(splits))


async def load_decisions(session: AsyncSession) -> list[IdentityDecision]:
    return list(await session.scalars(select(IdentityDecision).order_by(IdentityDecision.id)))


# -- services --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SplitResult:
    original: HubCustomer
    created: HubCustomer


async def _active(session: AsyncSession, customer_id: str, field: str) -> HubCustomer:
    """The customer ``customer_id`` names, following merges to the survivor."""
    if not customer_id or len(customer_id) > 40:
        raise NotFoundError(f"no customer with id {customer_id!r}", field=field)
    row = await session.get(HubCustomer, customer_id)
    hops = 0
    while row is not None and row.merged_into and hops < 16:
        row, hops = await session.get(HubCustomer, row.merged_into), hops + 1
    if row is None:
        raise NotFoundError(f"no customer with id {customer_id!r}", field=field)
    return row


async def _managed_keys(session: AsyncSession, customer_ids: Sequence[str]) -> dict[str, list[RecordKey]]:
    """Per customer, the keys of its links that identity resolution manages (records it has profiles of)."""
    rows = await session.execute(
        select(
            CustomerLink.hub_customer_id, CustomerLink.source, CustomerLink.entity, CustomerLink.external_id
        )
        .join(
            IdentityRecord,
            (IdentityRecord.source == CustomerLink.source)
            & (IdentityRecord.entity == CustomerLink.entity)
            & (IdentityRecord.external_id == CustomerLink.external_id),
        )
        .where(CustomerLink.hub_customer_id.in_(customer_ids))
        .order_by(CustomerLink.id)
    )
    out: dict[str, list[RecordKey]] = {cid: [] for cid in customer_ids}
    for customer_id, source, entity, external_id in rows:
        out[customer_id].append((source, entity, external_id))
    return out


async def merge_customers(
    hub: Hub, *, survivor_id: str, merged_ids: Sequence[str], actor: str = "anonymous"
) -> HubCustomer:
    """Merge ``merged_ids`` into ``survivor_id``: their links move to the survivor, their ids resolve to it
    from now on, and identity resolution keeps the records together in every later run."""
    if not merged_ids:
        raise InvalidInputError("`mergedIds` must name at least one customer", field="mergedIds")
    if len(merged_ids) > MAX_MERGED:
        raise InvalidInputError(f"at most {MAX_MERGED} customers can be merged at once", field="mergedIds")
    now = utcnow()
    async with hub.db.transaction() as session:
        survivor = await _active(session, survivor_id, "survivorId")
        merged: dict[str, HubCustomer] = {}
        for customer_id in merged_ids:
            row = await _active(session, customer_id, "mergedIds")
            if row.id == survivor.id:
                raise InvalidInputError(
                    f"customer {customer_id!r} is the survivor (or already merged into it)", field="mergedIds"
                )
            merged[row.id] = row
        keys = await _managed_keys(session, [survivor.id, *merged])
        moved = [key for cid in merged for key in keys[cid]]
        # Every link of the merged customers moves; those identity resolution manages become manual.
        await session.execute(
            update(CustomerLink)
            .where(CustomerLink.hub_customer_id.in_(list(merged)))
            .values(hub_customer_id=survivor.id, linked_at=now)
        )
        for source, entity, external_id in moved:
            await session.execute(
                update(CustomerLink)
                .where(
                    CustomerLink.source == source,
                    CustomerLink.entity == entity,
                    CustomerLink.external_id == external_id,
                )
                .values(rule=MANUAL_RULE, score=1.0, manual=True)
            )
        ids = list(merged)
        # Customers merged into the merged ones point straight at the survivor (loaders follow one hop).
        await session.execute(
            update(HubCustomer)
            .where(HubCustomer.merged_into.in_(ids))
            .values(merged_into=survivor.id, updated_at=now)
        )
        await session.execute(
            update(HubCustomer).where(HubCustomer.id.in_(ids)).values(merged_into=survivor.id, updated_at=now)
        )
        texts = [survivor.search_text, *(row.search_text for row in merged.values())]
        survivor.search_text = search_text(texts)
        survivor.country = survivor.country or next((r.country for r in merged.values() if r.country), None)
        survivor.updated_at = now
        session.add(
            IdentityDecision(
                kind="merge",
                customer_id=survivor.id,
                other_ids=ids,
                records=[list(k) for k in moved],
                counterpart=[list(k) for k in keys[survivor.id]],
                actor=actor[:200],
                created_at=now,
            )
        )
    return survivor


async def split_customer(
    hub: Hub, *, customer_id: str, records: Sequence[RecordKey], actor: str = "anonymous"
) -> SplitResult:
    """Move ``records`` (``(source, entity, external_id)``, all linked to the customer) to a new customer, and
    keep them apart from the customer's remaining records in every later run."""
    if not records:
        raise InvalidInputError("`records` must name at least one linked record", field="records")
    if len(records) > MAX_SPLIT_RECORDS:
        raise InvalidInputError(
            f"at most {MAX_SPLIT_RECORDS} records can be split off at once", field="records"
        )
    wanted = list(dict.fromkeys(records))
    now = utcnow()
    async with hub.db.transaction() as session:
        original = await _active(session, customer_id, "customerId")
        links = list(
            await session.scalars(select(CustomerLink).where(CustomerLink.hub_customer_id == original.id))
        )
        by_key = {(link.source, link.entity, link.external_id): link for link in links}
        for key in wanted:
            if key not in by_key:
                raise InvalidInputError(
                    f"record {key[0]}:{key[1]}:{key[2]} is not linked to customer {original.id!r}",
                    field="records",
                )
        if len(wanted) == len(by_key):
            raise InvalidInputError(
                "a split must leave at least one record with the customer; merge instead of moving them all",
                field="records",
            )
        new_id = await _free_id(session, wanted[0])
        names = dict(
            (tuple(row[:3]), row[3])
            for row in await session.execute(
                select(
                    IdentityRecord.source,
                    IdentityRecord.entity,
                    IdentityRecord.external_id,
                    IdentityRecord.name,
                )
                .where(IdentityRecord.source.in_({k[0] for k in wanted}))
                .where(IdentityRecord.external_id.in_({k[2] for k in wanted}))
            )
        )
        created = HubCustomer(
            id=new_id,
            display_name=next((names[k] for k in wanted if names.get(k)), wanted[0][2])[:300],
            search_text=search_text(names.get(k) for k in wanted),
            country=None,
            created_at=now,
            updated_at=now,
        )
        session.add(created)
        await session.flush()
        for key in wanted:
            link = by_key[key]
            link.hub_customer_id, link.rule, link.score, link.manual, link.linked_at = (
                new_id,
                MANUAL_RULE,
                1.0,
                True,
                now,
            )
        remaining = await _managed_keys(session, [original.id])
        session.add(
            IdentityDecision(
                kind="split",
                customer_id=original.id,
                other_ids=[new_id],
                records=[list(k) for k in wanted],
                counterpart=[list(k) for k in remaining[original.id] if k not in set(wanted)],
                actor=actor[:200],
                created_at=now,
            )
        )
        original.updated_at = now
    return SplitResult(original, created)


async def _free_id(session: AsyncSession, key: RecordKey) -> str:
    for generation in range(1000):
        candidate = hub_customer_id(key[0], key[2], generation)
        if await session.get(HubCustomer, candidate) is None:
            return candidate
    raise RuntimeError(f"no free customer id derived from {key}")  # pragma: no cover - 1000 collisions
