"""The accounting silo's books: customers with their own ids, one invoice per invoiced ERP order, payments.

Each invoice is paid, partly paid or open depending on how long it has been due at the world's reference
date, so some customers have overdue balances. A customer's ``Balance`` is the sum of its open invoice
balances. Money is kept in integer cents and records are slot objects (a 100k-company world holds about a
million transactions), indexed by id, by customer and by last-update time; the product's JSON is rendered
only for the page being served.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .._hashing import rng, unit
from ..variants import company_name_variant, country_of, country_variant, email_case_variant, phone_variant
from ..world import REFERENCE_DATE, World, as_utc, building

#: ERP order statuses that mean "goods went out and an invoice was raised".
INVOICED_STATUSES = frozenset({"invoiced", "shipped", "delivered", "completed", "closed", "paid"})
DEFAULT_TERMS_DAYS = 30
CURRENCY_NAMES = {
    "EUR": "Euro",
    "USD": "United States Dollar",
    "GBP": "British Pound Sterling",
    "PLN": "Polish Zloty",
    "SEK": "Swedish Krona",
}
#: The books are kept in the company's local time, as the real product reports them.
BOOKS_TZ = dt.timezone(dt.timedelta(hours=-8))


def cents_to_decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


@dataclass(slots=True)
class Customer:
    id: int
    cluster_id: str
    erp_code: str | None
    display_name: str
    company_name: str
    given_name: str | None
    family_name: str | None
    email: str | None
    phone: str | None
    website: str | None
    line1: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    currency: str
    created: dt.datetime
    updated: dt.datetime
    balance_cents: int = 0
    invoice_ids: list[int] = field(default_factory=list)
    payment_ids: list[int] = field(default_factory=list)

    @property
    def balance(self) -> Decimal:
        return cents_to_decimal(self.balance_cents)


@dataclass(slots=True)
class Invoice:
    id: int
    #: Before numbering: the customer's position in the build; afterwards its Id.
    customer_id: int
    order_number: str | None
    txn_date: dt.date
    due_date: dt.date
    total_cents: int
    balance_cents: int
    currency: str
    sort_key: float
    #: When the latest payment was applied (``None``: never changed since it was entered).
    last_change: dt.datetime | None = None
    payment_ids: tuple[int, ...] = ()

    @property
    def created(self) -> dt.datetime:
        return _stamp(self.txn_date, self.sort_key)

    @property
    def updated(self) -> dt.datetime:
        return self.last_change or self.created

    @property
    def total(self) -> Decimal:
        return cents_to_decimal(self.total_cents)

    @property
    def balance(self) -> Decimal:
        return cents_to_decimal(self.balance_cents)

    @property
    def doc_number(self) -> str:
        return str(1000 + self.id)


@dataclass(slots=True)
class Payment:
    id: int
    customer_id: int
    txn_date: dt.date
    total_cents: int
    currency: str
    #: (invoice id, cents applied to it)
    applied: tuple[tuple[int, int], ...]
    sort_key: float

    @property
    def created(self) -> dt.datetime:
        return _stamp(self.txn_date, self.sort_key)

    @property
    def updated(self) -> dt.datetime:
        return self.created

    @property
    def total(self) -> Decimal:
        return cents_to_decimal(self.total_cents)


def _cents(value: Any) -> int:
    return int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@functools.cache
def _day(day: dt.date) -> dt.date:
    """One shared object per calendar day: a million transactions fall on about a thousand days."""
    return day


@functools.cache
def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _stamp(day: dt.date, sort_key: float) -> dt.datetime:
    """When a transaction was entered: during office hours of its day, fixed by its sort key."""
    return _midnight(day) + dt.timedelta(seconds=int(8 * 3600 + sort_key * 9 * 3600))


def _subdivision_code(country_code: str | None, region: str | None) -> str | None:
    country = country_of(country_code)
    if country and region:
        for subdivision in country.subdivisions:
            if region in (subdivision.name, subdivision.code):
                return subdivision.code.split("-", 1)[1]
    return region


class _Timeline:
    """Records ordered by last update, for ``MetaData.LastUpdatedTime >`` queries."""

    def __init__(self, records: list[Any]) -> None:
        self.records = sorted(records, key=lambda r: (r.updated, r.id))
        self.stamps = [r.updated.timestamp() for r in self.records]

    def after(self, moment: dt.datetime, inclusive: bool) -> list[Any]:
        stamp = moment.timestamp()
        cut = bisect.bisect_left(self.stamps, stamp) if inclusive else bisect.bisect_right(self.stamps, stamp)
        return self.records[cut:]


class AccountingData:
    """All accounting records of one world, with the indexes the endpoints need."""

    def __init__(self, customers: list[Customer], transactions: list[Invoice | Payment]) -> None:
        self.customers = customers  # position = Id - 1
        # Invoices and payments share one id sequence, as in the product: position = Id - 1.
        self.transactions = transactions
        self.invoice_list = [t for t in transactions if isinstance(t, Invoice)]
        self.payment_list = [t for t in transactions if isinstance(t, Payment)]
        self._timelines: dict[str, _Timeline] = {}
        self.build_seconds = 0.0

    def customer(self, customer_id: int) -> Customer | None:
        return self.customers[customer_id - 1] if 0 < customer_id <= len(self.customers) else None

    def records(self, entity: str) -> list[Any]:
        collections: dict[str, list[Any]] = {
            "Customer": self.customers,
            "Invoice": self.invoice_list,
            "Payment": self.payment_list,
        }
        return collections[entity]

    def by_id(self, entity: str, record_id: int) -> Any | None:
        if entity == "Customer":
            return self.customer(record_id)
        kind = Invoice if entity == "Invoice" else Payment
        if 0 < record_id <= len(self.transactions):
            record = self.transactions[record_id - 1]
            return record if isinstance(record, kind) else None
        return None

    def updated_after(self, entity: str, moment: dt.datetime, inclusive: bool) -> list[Any]:
        if entity not in self._timelines:
            self._timelines[entity] = _Timeline(self.records(entity))
        return self._timelines[entity].after(moment, inclusive)

    # -- building ------------------------------------------------------------------------------------

    @classmethod
    def build(cls, world: World) -> AccountingData:
        with building():
            return cls._build(world)

    @classmethod
    def _build(cls, world: World) -> AccountingData:
        started = time.perf_counter()
        seed = world.seed
        customers: list[Customer] = []
        entry_order: list[float] = []
        invoices: list[Invoice] = []
        for index in range(world.size):
            if not world.in_accounting(index):
                continue
            company = world.company(index)
            key = len(customers)
            fields = cls._customer_fields(world, company, world.people(index), world.cluster_id(index))
            customers.append(Customer(id=0, **fields))
            entry_order.append(unit(seed, "acct-id", index))
            invoices.extend(cls._invoices_from_orders(world, key, index, company))
        for n in range(world.accounting_only_count):
            company = world.accounting_only_company(n)
            key = len(customers)
            fields = cls._customer_fields(world, company, [], world.accounting_only_cluster(n))
            fields["erp_code"] = None
            customers.append(Customer(id=0, **fields))
            entry_order.append(unit(seed, "acct-id", "only", n))
            invoices.extend(cls._invoices_for_walk_in(world, key, n, company))

        # Ids follow the order customers were entered into the books, which is not the ERP's order.
        order = sorted(range(len(customers)), key=entry_order.__getitem__)
        taken: set[str] = set()
        for position, key in enumerate(order, start=1):
            customer = customers[key]
            customer.id = position
            customer.display_name = cls._unique_display_name(customer, taken)
        for invoice in invoices:
            invoice.customer_id = customers[invoice.customer_id].id
        customers.sort(key=lambda c: c.id)

        transactions = cls._settle(world, invoices)
        for txn in transactions:
            customer = customers[txn.customer_id - 1]
            if isinstance(txn, Invoice):
                customer.invoice_ids.append(txn.id)
                customer.balance_cents += txn.balance_cents
                customer.currency = txn.currency
            else:
                customer.payment_ids.append(txn.id)
            customer.updated = max(customer.updated, txn.updated)
        data = cls(customers, transactions)
        for entity in ("Customer", "Invoice", "Payment"):
            data.updated_after(entity, REFERENCE_DATE, inclusive=False)  # builds the timelines now
        data.build_seconds = time.perf_counter() - started
        return data

    @staticmethod
    def _unique_display_name(customer: Customer, taken: set[str]) -> str:
        # The product insists on unique display names; bookkeepers add the city, then a number.
        name = customer.display_name

        def candidates() -> Iterator[str]:
            yield name
            if customer.city:
                yield f"{name} ({customer.city})"
            for n in range(2, 10_000):
                yield f"{name} ({n})"

        for candidate in candidates():
            if candidate.lower() not in taken:
                taken.add(candidate.lower())
                return candidate
        raise RuntimeError(f"cannot make a unique display name from {name!r}")

    @staticmethod
    def _customer_fields(
        world: World, company: dict[str, Any], people: list[Any], cluster_id: str
    ) -> dict[str, Any]:
        code = company.get("code") or str(company.get("id"))
        draw = rng(world.seed, "acct-customer", code).random
        name, form = company.get("name") or "", company.get("legal_form")
        style_draw = draw()
        style = (
            "legal"
            if style_draw < 0.35
            else "upper"
            if style_draw < 0.6
            else "spelled"
            if style_draw < 0.8
            else "plain"
            if style_draw < 0.95
            else "typo"
        )
        spelling = draw()
        display = company_name_variant(name, form, style, spelling)
        legal = company_name_variant(name, form, "spelled", spelling)
        country = company.get("country")
        primary = next((p for p in people if p.is_primary), people[0] if people else None)
        email_draw = draw()
        if email_draw < 0.55:
            email = company.get("email")
        elif email_draw < 0.85 and primary is not None:
            email = primary.email
        else:
            email = None
        phone = None
        phone_draw, style_draw = draw(), draw()
        if phone_draw < 0.9:
            styles = ("national", "international", "e164", "idd")
            phone = phone_variant(company.get("phone"), country, styles[int(style_draw * 4)])
        created = as_utc(company.get("created_at") or REFERENCE_DATE) + dt.timedelta(
            days=int(draw() * 20), seconds=int(draw() * 86400)
        )
        country_info = country_of(country)
        named_person = primary is not None and draw() < 0.6
        email_case, country_spelling = draw(), draw()
        return {
            "cluster_id": cluster_id,
            "erp_code": code,
            "display_name": display,
            "company_name": legal,
            "given_name": primary.first_name if named_person and primary else None,
            "family_name": primary.last_name if named_person and primary else None,
            "email": email_case_variant(email, email_case),
            "phone": phone,
            "website": company.get("website"),
            "line1": company.get("street"),
            "city": company.get("city"),
            "region": _subdivision_code(country, company.get("region")),
            "postal_code": company.get("postal_code"),
            "country": country_variant(country, country_spelling),
            "currency": company.get("currency") or (country_info.currency if country_info else "USD"),
            "created": min(created, REFERENCE_DATE),
            "updated": min(created, REFERENCE_DATE),
        }

    @staticmethod
    def _invoices_from_orders(world: World, key: int, index: int, company: dict[str, Any]) -> list[Invoice]:
        terms = world.payment_terms_days(index) or DEFAULT_TERMS_DAYS
        draw = rng(world.seed, "acct-invoices", index).random
        invoices = []
        for order, _lines in world.erp.orders_of(index):
            if str(order.get("status", "")).lower() not in INVOICED_STATUSES:
                continue
            ordered = as_utc(order.get("ordered_at") or REFERENCE_DATE)
            number = str(order.get("number") or order.get("id"))
            delay, sort_key = int(draw() * 6), draw()
            txn_date = _day(min((ordered + dt.timedelta(days=delay)).date(), REFERENCE_DATE.date()))
            total = _cents(order.get("total") or 0)
            invoices.append(
                Invoice(
                    id=0,
                    customer_id=key,
                    order_number=number,
                    txn_date=txn_date,
                    due_date=_day(txn_date + dt.timedelta(days=terms)),
                    total_cents=total,
                    balance_cents=total,
                    currency=sys.intern(order.get("currency") or "EUR"),
                    sort_key=sort_key,
                )
            )
        return invoices

    @staticmethod
    def _invoices_for_walk_in(world: World, key: int, n: int, company: dict[str, Any]) -> list[Invoice]:
        draw = rng(world.seed, "walk-in-invoices", n)
        country = country_of(company.get("country"))
        currency = country.currency if country else "EUR"
        invoices = []
        for _ in range(draw.randrange(1, 5)):
            txn_date = _day(REFERENCE_DATE.date() - dt.timedelta(days=draw.randrange(1, 720)))
            total = draw.randrange(5_000, 500_000)
            invoices.append(
                Invoice(
                    id=0,
                    customer_id=key,
                    order_number=None,
                    txn_date=txn_date,
                    due_date=_day(txn_date + dt.timedelta(days=DEFAULT_TERMS_DAYS)),
                    total_cents=total,
                    balance_cents=total,
                    currency=currency,
                    sort_key=draw.random(),
                )
            )
        return invoices

    @staticmethod
    def _settle(world: World, invoices: list[Invoice]) -> list[Invoice | Payment]:
        """Decide what was paid when, then number invoices and payments in one time-ordered sequence
        (the product numbers all transactions from one counter)."""
        reference = REFERENCE_DATE.date()
        invoices.sort(key=lambda i: (i.txn_date, i.sort_key))
        groups: list[tuple[dt.date, float, list[tuple[Invoice, int]]]] = []
        waiting: dict[int, tuple[Invoice, dt.date]] = {}
        for invoice in invoices:
            # The invoice's own sort key seeds its fate: per record, and no hashing per invoice.
            draw = random.Random(invoice.sort_key)
            overdue_days = (reference - invoice.due_date).days
            if overdue_days > 60:
                paid_share, partial_share = 0.90, 0.04
            elif overdue_days > 0:
                paid_share, partial_share = 0.60, 0.15
            else:
                paid_share, partial_share = 0.30, 0.10
            outcome = draw.random()
            latest = min(invoice.due_date + dt.timedelta(days=25), reference - dt.timedelta(days=1))
            if outcome >= paid_share + partial_share or latest <= invoice.txn_date:
                continue
            paid_on = _day(
                invoice.txn_date + dt.timedelta(days=draw.randrange(1, (latest - invoice.txn_date).days + 1))
            )
            full = outcome < paid_share
            amount = (
                invoice.total_cents if full else int(invoice.total_cents * round(draw.uniform(0.2, 0.8), 2))
            )
            if amount <= 0:
                continue
            earlier = waiting.pop(invoice.customer_id, None)
            if full and earlier is not None:
                # One payment settles this and the customer's previous fully paid invoice.
                first, first_paid_on = earlier
                when = max(paid_on, first_paid_on)
                groups.append((when, first.sort_key, [(first, first.total_cents), (invoice, amount)]))
                continue
            if earlier is not None:
                groups.append((earlier[1], earlier[0].sort_key, [(earlier[0], earlier[0].total_cents)]))
            if full and draw.random() < 0.2:
                waiting[invoice.customer_id] = (invoice, paid_on)
                continue
            groups.append((paid_on, invoice.sort_key, [(invoice, amount)]))
        for invoice, paid_on in waiting.values():
            groups.append((paid_on, invoice.sort_key, [(invoice, invoice.total_cents)]))

        # Every payment is dated after its invoices, so invoices sort first on a shared day.
        events: list[tuple[dt.date, int, float, Any]] = [(i.txn_date, 0, i.sort_key, i) for i in invoices]
        events += [(when, 1, key, group) for when, key, group in groups]
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        transactions: list[Invoice | Payment] = []
        for txn_id, (when, kind, sort_key, payload) in enumerate(events, start=1):
            if kind == 0:
                invoice = payload
                invoice.id = txn_id
                transactions.append(invoice)
                continue
            stamp = _stamp(when, sort_key)
            applied = []
            for invoice, amount in payload:
                invoice.balance_cents -= amount
                invoice.payment_ids += (txn_id,)
                invoice.last_change = max(invoice.updated, stamp)
                applied.append((invoice.id, amount))
            transactions.append(
                Payment(
                    id=txn_id,
                    customer_id=payload[0][0].customer_id,
                    txn_date=when,
                    total_cents=sum(amount for _, amount in applied),
                    currency=payload[0][0].currency,
                    applied=tuple(applied),
                    sort_key=sort_key,
                )
            )
        return transactions


def currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def books_time(moment: dt.datetime) -> str:
    return moment.astimezone(BOOKS_TZ).isoformat(timespec="seconds")
