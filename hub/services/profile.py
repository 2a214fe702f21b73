"""The golden customer profile assembled from every linked silo record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adapters.sdk import Address, CustomerRecord

from ..identity.settings import SurvivorshipConfig
from ..identity.survivorship import golden_values


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    name: str
    legal_name: str | None
    email: str | None
    phone: str | None
    website: str | None
    tax_id: str | None
    industry: str | None
    address: Address | None
    records: tuple[CustomerRecord, ...]


_FIELDS = ("legal_name", "email", "phone", "website", "tax_id", "industry", "address")


def merge_profile(
    fallback_name: str,
    records: Sequence[CustomerRecord],
    survivorship: SurvivorshipConfig | None = None,
    source_order: Sequence[str] = (),
) -> CustomerProfile:
    """Each field by its survivorship policy (``identity.survivorship``); without one, from the first
    record (in source priority order) that has a value."""
    if survivorship is not None:
        chosen = golden_values(records, survivorship, source_order)
        display = chosen.pop("name") or fallback_name
        return CustomerProfile(name=display, records=tuple(records), **chosen)
    values: dict[str, object] = {}
    for name in _FIELDS:
        values[name] = next((getattr(r, name) for r in records if getattr(r, name) is not None), None)
    display = next((r.name for r in records if r.name), fallback_name)
    return CustomerProfile(name=display, records=tuple(records), **values)  # type: ignore[arg-type]
