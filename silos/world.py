"""The one simulated world every silo is a partial, differently spelled view of.

The ERP generator defines the real-world companies ``0..size-1``. This module decides, per company and
deterministically, which other silos know it, and supplies the companies no ERP knows: customers billed only
in accounting and marketing leads that are not customers yet. Those are taken from the same generator at
indices past ``size`` (the generator derives every record from its own index), so they look just as real.

Cluster ids name real-world companies for the ground truth: ``erp-<index>``, ``acct-<n>``, ``lead-<n>``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ._hashing import unit
from .erp.reference import REFERENCE_DATE as _ERP_REFERENCE_DATE
from .variants import ascii_slug, domain_of

#: "Now" of the simulated world, shared with the ERP so that "overdue" means the same everywhere.
REFERENCE_DATE: dt.datetime = _ERP_REFERENCE_DATE.replace(tzinfo=dt.UTC)

#: Share of ERP companies each silo knows.
ACCOUNTING_SHARE = 0.92
SUPPORT_SHARE = 0.70
MARKETING_SHARE = 0.65
#: Customers only accounting knows, relative to the ERP's size (~7% of accounting's customers).
ACCOUNTING_ONLY_SHARE = 0.07
#: Lead companies available to marketing, relative to the ERP's size.
LEAD_COMPANY_SHARE = 0.35
#: A person with no e-mail in the ERP still has a real address that other systems may know.
HIDDEN_EMAIL_SHARE = 0.6


@contextlib.contextmanager
def building() -> Iterator[None]:
    """Pause the cyclic garbage collector while a data set is built, then freeze what was built.

    A build allocates millions of long-lived, acyclic objects; without this the collector rescans them
    over and over (a large share of build time), and afterwards on every later collection."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.freeze()


class ErpSource(Protocol):
    """What the silos read from the ERP generator."""

    def company(self, index: int) -> dict[str, Any]: ...

    def contacts_of(self, index: int) -> list[dict[str, Any]]: ...

    def orders_of(self, index: int) -> list[tuple[dict[str, Any], list[Any]]]: ...


ErpFactory = Callable[..., ErpSource]


def default_erp_factory(size: int, *, seed: int) -> ErpSource:
    from .erp.generator import ErpGenerator

    return ErpGenerator(size, seed=seed)


@dataclass(frozen=True, slots=True)
class Person:
    """A contact person as they really are; each silo shows some of it, differently spelled."""

    company_index: int
    position: int
    first_name: str
    last_name: str
    #: The address the person really uses, known to the ERP or not (``None``: nobody knows one).
    email: str | None
    erp_email: str | None
    phone: str | None
    title: str | None
    is_primary: bool


def as_utc(value: Any) -> dt.datetime:
    """ERP timestamps may be datetimes, dates or ISO strings, naive or not; silos work in UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise TypeError(f"not a timestamp: {value!r}")


class World:
    """Membership and identity decisions for one ``(size, seed)``."""

    def __init__(self, size: int, *, seed: int = 42, erp_factory: ErpFactory = default_erp_factory) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        self.size = size
        self.seed = seed
        self._erp_factory = erp_factory
        self.accounting_only_count = max(1, round(size * ACCOUNTING_ONLY_SHARE))
        self.lead_company_count = max(2, round(size * LEAD_COMPANY_SHARE))

    @functools.cached_property
    def erp(self) -> ErpSource:
        """The ERP's own data set (indices ``0..size-1``)."""
        return self._erp_factory(self.size, seed=self.seed)

    @functools.cached_property
    def _outside(self) -> ErpSource:
        # Same seed, larger size: indices past ``size`` are companies the ERP does not hold.
        return self._erp_factory(
            self.size + self.accounting_only_count + self.lead_company_count, seed=self.seed
        )

    # -- ERP companies -------------------------------------------------------------------------------

    def company(self, index: int) -> dict[str, Any]:
        return self.erp.company(index)

    def cluster_id(self, index: int) -> str:
        return f"erp-{index}"

    def in_accounting(self, index: int) -> bool:
        return unit(self.seed, "in-accounting", index) < ACCOUNTING_SHARE

    def in_support(self, index: int) -> bool:
        return unit(self.seed, "in-support", index) < SUPPORT_SHARE

    def in_marketing(self, index: int) -> bool:
        return unit(self.seed, "in-marketing", index) < MARKETING_SHARE

    def people(self, index: int) -> list[Person]:
        return self._people(self.erp, index, self.company(index))

    def payment_terms_days(self, index: int) -> int | None:
        """The ERP's agreed payment terms for the company, ``None`` when it has none."""
        terms_of = getattr(self.erp, "credit_terms_of", None)
        terms = terms_of(index) if terms_of is not None else None
        days = terms.get("payment_terms_days") if terms else None
        return int(days) if days else None

    # -- companies outside the ERP -------------------------------------------------------------------

    def accounting_only_company(self, n: int) -> dict[str, Any]:
        return self._outside.company(self.size + n)

    def accounting_only_cluster(self, n: int) -> str:
        return f"acct-{n}"

    def lead_company(self, n: int) -> dict[str, Any]:
        return self._outside.company(self.size + self.accounting_only_count + n)

    def lead_people(self, n: int) -> list[Person]:
        index = self.size + self.accounting_only_count + n
        return self._people(self._outside, index, self.lead_company(n))

    def lead_cluster(self, n: int) -> str:
        return f"lead-{n}"

    # -- people --------------------------------------------------------------------------------------

    def _people(self, source: ErpSource, index: int, company: dict[str, Any]) -> list[Person]:
        domain = domain_of(company.get("website"), company.get("email"))
        people = []
        for position, contact in enumerate(source.contacts_of(index)):
            first, last = contact.get("first_name") or "", contact.get("last_name") or ""
            erp_email = contact.get("email") or None
            email = erp_email
            if (
                email is None
                and domain
                and unit(self.seed, "hidden-email", index, position) < HIDDEN_EMAIL_SHARE
            ):
                local = ".".join(part for part in (ascii_slug(first), ascii_slug(last)) if part)
                email = f"{local}@{domain}" if local else None
            people.append(
                Person(
                    company_index=index,
                    position=position,
                    first_name=first,
                    last_name=last,
                    email=email.lower() if email else None,
                    erp_email=erp_email,
                    phone=contact.get("phone") or None,
                    title=contact.get("title") or None,
                    is_primary=bool(contact.get("is_primary")),
                )
            )
        return people
