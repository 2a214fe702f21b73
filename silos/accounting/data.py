"""The accounting silo's books: customers with their own ids, one invoice per invoiced ERP order, payments.

Each invoice is paid, partly paid or open depending on how long it has been due at the world's reference
date, so some customers have overdue balances. A customer's ``Balance`` is the sum of its open invoice
balances. Records are compact slot objects indexed by id, by customer and by last-update time, and are
rendered into the product's JSON only for the page being served.
"""

from __future__ import annotations

import bisect
import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .._hashing import rng, unit
from ..variants import company_name_variant, country_of, country_variant, email_case_variant, phone_variant
from ..world import REFERENCE_DATE, World, as_utc

CENT = Decimal("0.01")
#: ERP order statuses that mean "goods went out and an invoice was raised".
INVOICED_STATUSES = frozenset(
    {"invoiced", "shipped", "delivered", "completed", "closed", "paid", "fulfilled"}
)
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
    balance: Decimal = Decimal(0)
    invoice_ids: list[int] = field(default_factory=list)
    payment_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Invoice:
    id: int
    customer_id: int
    order_number: str | None
    txn_date: dt.date
    due_date: dt.date
    total: Decimal
    balance: Decimal
    currency: str
    created: dt.datetime
    updated: dt.datetime
    payment_ids: list[int] = field(default_factory=list)

    @property
    def doc_number(self) -> str:
        return str(1000 + self.id)


@dataclass(slots=True)
class Payment:
    id: int
    customer_id: int
    txn_date: dt.date
    total: Decimal
    currency: str
    #: (invoice id, amount applied to it)
    applied: list[tuple[int, Decimal]]
    created: dt.datetime
    updated: dt.datetime


@dataclass
class _DraftInvoice:
    customer_key: int
    order_number: str | None
    txn_date: dt.date
    due_date: dt.date
    total: Decimal
    currency: str
    sort_key: float
    paid: list[tuple[dt.date, Decimal]] = field(default_factory=list)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _at(day: dt.date, seconds: float) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def _subdivision_code(country_code: str | None, region: str | None) -> str | None:
    country = country_of(country_code)
    if country and region:
        for subdivision in country.subdivisions:
            if region in (subdivision.name, subdivision.code):
                return subdivision.code.split("-", 1)[1]
    return region


class AccountingData:
    """All accounting records of one world, with the indexes the endpoints need."""

    def __init__(self, customers: list[Customer], invoices: list[Invoice], payments: list[Payment]) -> None:
        self.customers = customers  # position = id - 1
        self.invoices = {invoice.id: invoice for invoice in invoices}
        self.payments = {payment.id: payment for payment in payments}
        self.invoice_list = sorted(invoices, key=lambda r: r.id)
        self.payment_list = sorted(payments, key=lambda r: r.id)
        self.by_updated: dict[str, tuple[list[tuple[dt.datetime, int]], list[Any]]] = {}
        collections: tuple[tuple[str, list[Any]], ...] = (
            ("Customer", self.customers),
            ("Invoice", self.invoice_list),
            ("Payment", self.payment_list),
        )
        for name, records in collections:
            ordered = sorted(records, key=lambda r: (r.updated, r.id))
            self.by_updated[name] = ([(r.updated, r.id) for r in ordered], ordered)
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
        return (self.invoices if entity == "Invoice" else self.payments).get(record_id)

    def updated_after(self, entity: str, moment: dt.datetime, inclusive: bool) -> list[Any]:
        keys, ordered = self.by_updated[entity]
        probe = (moment, -1) if inclusive else (moment, 2**62)
        return ordered[bisect.bisect_left(keys, probe) :]

    # -- building ------------------------------------------------------------------------------------

    @classmethod
    def build(cls, world: World) -> AccountingData:
        started = time.perf_counter()
        seed = world.seed
        drafts_customers: list[tuple[float, dict[str, Any]]] = []
        drafts_invoices: list[_DraftInvoice] = []
        for index in range(world.size):
            if not world.in_accounting(index):
                continue
            company = world.company(index)
            key = len(drafts_customers)
            people = world.people(index)
            drafts_customers.append(
                (
                    unit(seed, "acct-id", index),
                    cls._customer_fields(world, company, people, world.cluster_id(index)),
                )
            )
            drafts_invoices.extend(cls._invoices_from_orders(world, key, index, company))
        for n in range(world.accounting_only_count):
            company = world.accounting_only_company(n)
            key = len(drafts_customers)
            fields = cls._customer_fields(world, company, [], world.accounting_only_cluster(n))
            fields["erp_code"] = None
            drafts_customers.append((unit(seed, "acct-id", "only", n), fields))
            drafts_invoices.extend(cls._invoices_for_walk_in(world, key, n, company))

        # Ids follow the order customers were entered into the books, which is not the ERP's order.
        order = sorted(range(len(drafts_customers)), key=lambda k: drafts_customers[k][0])
        customer_id_of = {key: position + 1 for position, key in enumerate(order)}
        customers: list[Customer] = []
        taken: set[str] = set()
        for key in order:
            fields = drafts_customers[key][1]
            fields["display_name"] = cls._unique_display_name(fields, taken)
            customers.append(Customer(id=customer_id_of[key], **fields))

        invoices, payments = cls._settle(world, drafts_invoices, customer_id_of)
        for invoice in invoices:
            customer = customers[invoice.customer_id - 1]
            customer.invoice_ids.append(invoice.id)
            customer.balance += invoice.balance
            customer.currency = invoice.currency
            customer.updated = max(customer.updated, invoice.updated)
        for payment in payments:
            customer = customers[payment.customer_id - 1]
            customer.payment_ids.append(payment.id)
            customer.updated = max(customer.updated, payment.updated)
        data = cls(customers, invoices, payments)
        data.build_seconds = time.perf_counter() - started
        return data

    @staticmethod
    def _unique_display_name(fields: dict[str, Any], taken: set[str]) -> str:
        # The product insists on unique display names; bookkeepers add the city, then a number.
        name: str = fields["display_name"]
        candidates = [name, f"{name} ({fields['city']})" if fields.get("city") else None]
        candidates += [f"{name} ({n})" for n in range(2, 1000)]
        for candidate in candidates:
            if candidate and candidate.lower() not in taken:
                taken.add(candidate.lower())
                return candidate
        raise RuntimeError(f"cannot make a unique display name from {name!r}")

    @staticmethod
    def _customer_fields(
        world: World, company: dict[str, Any], people: list[Any], cluster_id: str
    ) -> dict[str, Any]:
        seed, code = world.seed, company.get("code") or str(company.get("id"))
        name, form = company.get("name") or "", company.get("legal_form")
        style_draw = unit(seed, "acct-name-style", code)
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
        spelling = unit(seed, "acct-form", code)
        display = company_name_variant(name, form, style, spelling)
        legal = company_name_variant(name, form, "spelled", spelling)
        country = company.get("country")
        primary = next((p for p in people if p.is_primary), people[0] if people else None)
        email_draw = unit(seed, "acct-email", code)
        if email_draw < 0.55:
            email = company.get("email")
        elif email_draw < 0.85 and primary is not None:
            email = primary.email
        else:
            email = None
        phone = None
        if unit(seed, "acct-phone", code) < 0.9:
            styles = ("national", "international", "e164", "idd")
            phone = phone_variant(
                company.get("phone"), country, styles[int(unit(seed, "acct-pfmt", code) * 4)]
            )
        created = as_utc(company.get("created_at") or REFERENCE_DATE) + dt.timedelta(
            days=int(unit(seed, "acct-created", code) * 20), seconds=int(unit(seed, "acct-sec", code) * 86400)
        )
        country_info = country_of(country)
        named_person = primary is not None and unit(seed, "acct-person", code) < 0.6
        return {
            "cluster_id": cluster_id,
            "erp_code": code,
            "display_name": display,
            "company_name": legal,
            "given_name": primary.first_name if named_person and primary else None,
            "family_name": primary.last_name if named_person and primary else None,
            "email": email_case_variant(email, unit(seed, "acct-email-case", code)),
            "phone": phone,
            "website": company.get("website"),
            "line1": company.get("street"),
            "city": company.get("city"),
            "region": _subdivision_code(country, company.get("region")),
            "postal_code": company.get("postal_code"),
            "country": country_variant(country, unit(seed, "acct-country", code)),
            "currency": company.get("currency") or (country_info.currency if country_info else "USD"),
            "created": min(created, REFERENCE_DATE),
            "updated": min(created, REFERENCE_DATE),
        }

    @staticmethod
    def _invoices_from_orders(
        world: World, key: int, index: int, company: dict[str, Any]
    ) -> list[_DraftInvoice]:
        terms = world.payment_terms_days(index) or DEFAULT_TERMS_DAYS
        drafts = []
        for order, _lines in world.erp.orders_of(index):
            if str(order.get("status", "")).lower() not in INVOICED_STATUSES:
                continue
            ordered = as_utc(order.get("ordered_at") or REFERENCE_DATE)
            number = order.get("number") or str(order.get("id"))
            delay = int(unit(world.seed, "invoice-delay", number) * 6)
            txn_date = min((ordered + dt.timedelta(days=delay)).date(), REFERENCE_DATE.date())
            drafts.append(
                _DraftInvoice(
                    customer_key=key,
                    order_number=str(number),
                    txn_date=txn_date,
                    due_date=txn_date + dt.timedelta(days=terms),
                    total=_money(order.get("total") or 0),
                    currency=order.get("currency") or company.get("currency") or "EUR",
                    sort_key=unit(world.seed, "invoice-order", number),
                )
            )
        return drafts

    @staticmethod
    def _invoices_for_walk_in(world: World, key: int, n: int, company: dict[str, Any]) -> list[_DraftInvoice]:
        draw = rng(world.seed, "walk-in-invoices", n)
        country = country_of(company.get("country"))
        currency = country.currency if country else "EUR"
        drafts = []
        for k in range(draw.randrange(1, 5)):
            txn_date = REFERENCE_DATE.date() - dt.timedelta(days=draw.randrange(1, 720))
            drafts.append(
                _DraftInvoice(
                    customer_key=key,
                    order_number=None,
                    txn_date=txn_date,
                    due_date=txn_date + dt.timedelta(days=DEFAULT_TERMS_DAYS),
                    total=_money(draw.randrange(5_000, 500_000) / 100),
                    currency=currency,
                    sort_key=unit(world.seed, "walk-in-order", n, k),
                )
            )
        return drafts

    @staticmethod
    def _settle(
        world: World, drafts: list[_DraftInvoice], customer_id_of: dict[int, int]
    ) -> tuple[list[Invoice], list[Payment]]:
        """Decide what was paid when, then number invoices and payments in one time-ordered sequence
        (the product numbers all transactions from one counter)."""
        reference = REFERENCE_DATE.date()
        # (date, kind, sort key, payload): kind 0 = invoice, 1 = payment
        events: list[tuple[dt.date, int, float, Any]] = []
        pending_full: dict[int, tuple[_DraftInvoice, dt.date]] = {}
        payment_groups: list[tuple[dt.date, list[tuple[_DraftInvoice, Decimal]]]] = []
        for draft in sorted(drafts, key=lambda d: (d.txn_date, d.sort_key)):
            events.append((draft.txn_date, 0, draft.sort_key, draft))
            draw = rng(world.seed, "settle", draft.order_number or draft.sort_key)
            overdue_days = (reference - draft.due_date).days
            if overdue_days > 60:
                paid_share, partial_share = 0.90, 0.04
            elif overdue_days > 0:
                paid_share, partial_share = 0.60, 0.15
            else:
                paid_share, partial_share = 0.30, 0.10
            outcome = draw.random()
            latest = min(draft.due_date + dt.timedelta(days=25), reference - dt.timedelta(days=1))
            if outcome >= paid_share + partial_share or latest <= draft.txn_date:
                continue
            paid_on = draft.txn_date + dt.timedelta(
                days=draw.randrange(1, (latest - draft.txn_date).days + 1)
            )
            if outcome < paid_share:
                amount = draft.total
            else:
                amount = _money(draft.total * Decimal(str(round(draw.uniform(0.2, 0.8), 2))))
            if amount <= 0:
                continue
            draft.paid.append((paid_on, amount))
            earlier = pending_full.pop(draft.customer_key, None)
            if amount == draft.total and earlier is None and draw.random() < 0.2:
                # Wait for the customer's next fully paid invoice and settle both with one payment.
                pending_full[draft.customer_key] = (draft, paid_on)
                continue
            if earlier is not None and amount == draft.total:
                first, first_paid_on = earlier
                when = max(paid_on, first_paid_on)
                first.paid[-1] = (when, first.total)
                draft.paid[-1] = (when, amount)
                payment_groups.append((when, [(first, first.total), (draft, amount)]))
                continue
            if earlier is not None:
                payment_groups.append((earlier[1], [(earlier[0], earlier[0].total)]))
            payment_groups.append((paid_on, [(draft, amount)]))
        for draft, paid_on in pending_full.values():
            payment_groups.append((paid_on, [(draft, draft.total)]))
        for when, group in payment_groups:
            events.append((when, 1, group[0][0].sort_key, group))
        events.sort(key=lambda e: (e[0], e[1], e[2]))

        invoices: list[Invoice] = []
        payments: list[Payment] = []
        invoice_of: dict[int, Invoice] = {}
        for txn_id, (when, kind, sort_key, payload) in enumerate(events, start=1):
            stamp = _at(when, 8 * 3600 + sort_key * 9 * 3600)
            if kind == 0:
                draft = payload
                invoice = Invoice(
                    id=txn_id,
                    customer_id=customer_id_of[draft.customer_key],
                    order_number=draft.order_number,
                    txn_date=draft.txn_date,
                    due_date=draft.due_date,
                    total=draft.total,
                    balance=draft.total,
                    currency=draft.currency,
                    created=stamp,
                    updated=stamp,
                )
                invoice_of[id(draft)] = invoice
                invoices.append(invoice)
                continue
            applied = []
            for draft, amount in payload:
                invoice = invoice_of[id(draft)]
                invoice.balance -= amount
                invoice.payment_ids.append(txn_id)
                invoice.updated = max(invoice.updated, stamp)
                applied.append((invoice.id, amount))
            first_invoice = invoice_of[id(payload[0][0])]
            payments.append(
                Payment(
                    id=txn_id,
                    customer_id=first_invoice.customer_id,
                    txn_date=when,
                    total=sum((amount for _, amount in applied), Decimal(0)),
                    currency=first_invoice.currency,
                    applied=applied,
                    created=stamp,
                    updated=stamp,
                )
            )
        return invoices, payments


def currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def books_time(moment: dt.datetime) -> str:
    return moment.astimezone(BOOKS_TZ).isoformat(timespec="seconds")


def open_balance_by_customer(data: AccountingData) -> dict[int, Decimal]:
    """Sum of open invoice balances per customer id (what ``Customer.Balance`` must equal)."""
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for invoice in data.invoice_list:
        totals[invoice.customer_id] += invoice.balance
    return dict(totals)
