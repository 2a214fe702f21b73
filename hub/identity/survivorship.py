"""Survivorship: which linked record's value each golden-profile field takes (reconciliation rules).

Policies, set per field in ``identity.survivorship`` (``default`` for the rest):

* ``source_priority``: the first record in source order (the policy's ``sources``, then config order);
* ``most_recent``: the most recently updated record (``updated_at``), ties broken by source order;
* ``most_frequent``: the value most records agree on, compared normalized (``+49 30 1234567`` and
  ``030 1234567`` are one phone number), ties broken by source order; the winner's own spelling is kept.

``ignore_empty`` (default true) skips records without a value; with it off, the winning record's empty value
stays empty (``most_frequent`` then counts "empty" as a value like any other).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from adapters.sdk import Address, CustomerRecord

from .company_names import normalize_company_name
from .normalize import (
    fold,
    normalize_country,
    normalize_email,
    normalize_phone,
    normalize_postal_code,
    normalize_street,
    normalize_tax_id,
    website_domain,
)
from .settings import PROFILE_FIELDS, FieldPolicy, SurvivorshipConfig

_OLDEST = dt.datetime.min.replace(tzinfo=dt.UTC)


def _country(record: CustomerRecord) -> str | None:
    return normalize_country(record.address.country) if record.address else None


def _address_key(address: Address, record: CustomerRecord) -> object:
    country = normalize_country(address.country)
    return (
        normalize_street(address.street),
        normalize_postal_code(address.postal_code, country),
        fold(address.city or ""),
        country,
    )


#: How values of a field are compared by ``most_frequent``.
_COMPARABLE: dict[str, Callable[[Any, CustomerRecord], object]] = {
    "name": lambda v, r: normalize_company_name(v),
    "legal_name": lambda v, r: normalize_company_name(v),
    "email": lambda v, r: normalize_email(v),
    "phone": lambda v, r: normalize_phone(v, _country(r)),
    "website": lambda v, r: website_domain(v),
    "tax_id": lambda v, r: normalize_tax_id(v, _country(r)),
    "industry": lambda v, r: fold(v).strip(),
    "address": _address_key,
}


def _empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Address):
        return not any(value.model_dump().values())
    return False


def _priority(policy: FieldPolicy, source_order: Sequence[str]) -> Callable[[CustomerRecord], int]:
    order = {name: i for i, name in enumerate(dict.fromkeys([*policy.sources, *source_order]))}
    return lambda record: order.get(record.source, len(order))


def choose(
    field: str, records: Sequence[CustomerRecord], policy: FieldPolicy, source_order: Sequence[str]
) -> Any:
    """The value of ``field`` the policy picks among ``records``."""
    rank = _priority(policy, source_order)
    by_priority = sorted(records, key=rank)
    candidates = [(r, getattr(r, field)) for r in by_priority]
    if policy.ignore_empty:
        candidates = [(r, v) for r, v in candidates if not _empty(v)]
    if not candidates:
        return None
    if policy.policy == "source_priority":
        return candidates[0][1]
    if policy.policy == "most_recent":
        # Stable sort: among equally recent records, source order decides.
        newest = sorted(candidates, key=lambda rv: rv[0].updated_at or _OLDEST, reverse=True)
        return newest[0][1]
    comparable = _COMPARABLE[field]
    counts: dict[object, int] = {}
    first_of: dict[object, Any] = {}
    for record, value in candidates:
        key = None if _empty(value) else (comparable(value, record) or value)
        counts[key] = counts.get(key, 0) + 1
        first_of.setdefault(key, value)
    best = max(counts.values())
    # Candidates are in priority order, so the first key reaching the best count wins ties.
    winner = next(key for key in first_of if counts[key] == best)
    return first_of[winner]


def golden_values(
    records: Sequence[CustomerRecord], config: SurvivorshipConfig, source_order: Sequence[str]
) -> dict[str, Any]:
    """Every golden-profile field (see ``PROFILE_FIELDS``) chosen by its policy."""
    return {field: choose(field, records, config.policy_for(field), source_order) for field in PROFILE_FIELDS}
