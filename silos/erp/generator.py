"""The deterministic ERP data generator.

``ErpGenerator(size, seed=...)`` describes a whole ERP database without holding it: rows are produced on
demand, table by table (``rows``) or company by company (``company``, ``contacts_of``, ``orders_of``...).
Each company's records come from random generators seeded with ``(seed, table, company index)``, and every
id is derived from the company's index, so the first N companies (with their contacts, orders and lines)
are identical whatever the database size. Other silos derive their data from the same companies.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from faker import VERSION as FAKER_VERSION

from .formats import person_mailbox, phone_number, postal_code, slug, vat_number
from .organisation import ChildTerritory, Organisation, build_organisation
from .pools import LocalePool, locale_pool, pick
from .products import MAX_PRODUCTS, MIN_PRODUCTS, CatalogueItem, build_catalogue
from .reference import (
    BRANDS,
    BUSINESS_NOUNS,
    CONTACT_TITLES,
    COUNTRIES,
    GENERIC_MAILBOXES,
    INDUSTRIES,
    NOUN_FIRST_LANGUAGES,
    PARTNER_JOINERS,
    RATES_FROM_EUR,
    REFERENCE_DATE,
    Country,
)
from .rng import record_rng

Row = dict[str, Any]
OrderWithLines = tuple[Row, list[Row]]

#: Bumped whenever the generated data changes, so cached databases get rebuilt.
GENERATOR_VERSION = "2"

TABLES_IN_ORDER: tuple[str, ...] = (
    "regions",
    "territories",
    "employees",
    "employee_territories",
    "products",
    "companies",
    "contacts",
    "credit_terms",
    "orders",
    "order_lines",
)
#: Tables that do not depend on the number of companies.
REFERENCE_TABLES: tuple[str, ...] = TABLES_IN_ORDER[:5]
#: Tables with rows per company, in dependency order.
COMPANY_TABLES: tuple[str, ...] = TABLES_IN_ORDER[5:]

# Ids are derived from the company's index (not counted), so any company's records can be generated alone.
MAX_CONTACTS_PER_COMPANY = 4
MAX_ORDERS_PER_COMPANY = 100
MAX_LINES_PER_ORDER = 10
MAX_ORDERS_PER_CUSTOMER_MEAN = 40.0

_HISTORY = dt.timedelta(days=3 * 365)
_CONTACT_COUNTS = (1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4)
_QUANTITIES = tuple(Decimal(q) for q in (1, 1, 1, 2, 2, 3, 4, 5, 5, 6, 8, 10, 10, 12, 20, 25, 50, 100))
_DISCOUNT_BASIS_POINTS = (0, 0, 0, 0, 0, 0, 0, 200, 500, 500, 1000, 1500)
_DISCOUNTS = {bp: Decimal(bp).scaleb(-4) for bp in set(_DISCOUNT_BASIS_POINTS)}
_PAYMENT_TERMS = (14, 30, 30, 30, 30, 45, 60)
_CREDIT_LIMITS_EUR = (5_000, 10_000, 10_000, 25_000, 25_000, 50_000, 100_000, 250_000, 500_000)
# (lowest, highest, weight) of annual revenue in the company's currency.
_REVENUE_BANDS = ((200_000, 2_000_000, 40), (2_000_000, 20_000_000, 35), (20_000_000, 200_000_000, 20),
                  (200_000_000, 3_000_000_000, 5))  # fmt: skip


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


class _Weighted:
    """Weighted picks by one uniform draw (``random.choices`` would allocate per call)."""

    def __init__(self, pairs: Sequence[tuple[Any, int]]) -> None:
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))

    def pick(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


@dataclass(frozen=True, slots=True)
class _CompanyDraft:
    """A company row plus what its contacts, orders and credit terms are derived from."""

    row: Row
    country: Country
    territory: ChildTerritory
    pool: LocalePool
    domain: str


class ErpGenerator:
    """Generates the ERP database of ``size`` companies; same parameters, same rows, on any machine."""

    def __init__(
        self,
        size: int,
        *,
        seed: int = 42,
        orders_per_customer: float = 8.0,
        products: int = MAX_PRODUCTS,
    ) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be a non-negative integer (number of companies), got {size!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        if isinstance(orders_per_customer, bool) or not isinstance(orders_per_customer, int | float):
            raise ValueError(f"orders_per_customer must be a number, got {orders_per_customer!r}")
        if not 0 <= orders_per_customer <= MAX_ORDERS_PER_CUSTOMER_MEAN:
            raise ValueError(
                f"orders_per_customer must be between 0 and {MAX_ORDERS_PER_CUSTOMER_MEAN:g}, "
                f"got {orders_per_customer!r}"
            )
        if isinstance(products, bool) or not isinstance(products, int):
            raise ValueError(f"products must be an integer, got {products!r}")
        if not MIN_PRODUCTS <= products <= MAX_PRODUCTS:
            raise ValueError(f"products must be between {MIN_PRODUCTS} and {MAX_PRODUCTS}, got {products}")
        self.size = size
        self.seed = seed
        self.orders_per_customer = float(orders_per_customer)
        self.product_count = products
        self.organisation: Organisation = build_organisation(seed)
        self.catalogue: tuple[CatalogueItem, ...] = build_catalogue(record_rng(seed, "products", 0), products)
        # Freight (the last item) is added to orders on its own terms, never drawn as a regular line.
        self._freight = self.catalogue[-1]
        self._orderable = self.catalogue[:-1]
        self._active_products = tuple(item for item in self._orderable if not item.discontinued)
        # Unit prices per order currency, converted once from the euro price list.
        self._prices = {
            currency: [round(item.unit_price_cents * rate) for item in self.catalogue]
            for currency, rate in RATES_FROM_EUR.items()
        }
        self._price_decimals = {
            currency: [_money(c) for c in cents] for currency, cents in self._prices.items()
        }
        self._countries = _Weighted([(country, country.weight) for country in COUNTRIES])
        self._legal_forms = {country.code: _Weighted(country.legal_forms) for country in COUNTRIES}
        self._revenue_bands = _Weighted([((low, high), weight) for low, high, weight in _REVENUE_BANDS])
        # Callers usually ask for company(i), contacts_of(i) and orders_of(i) in a row: draft once.
        self._draft = functools.lru_cache(maxsize=256)(self._make_draft)

    # -- description ----------------------------------------------------------------------------------

    def params(self) -> dict[str, str]:
        """What the output depends on; stored with a database to tell whether it is still current."""
        return {
            "generator_version": GENERATOR_VERSION,
            "faker_version": FAKER_VERSION,
            "size": str(self.size),
            "seed": str(self.seed),
            "orders_per_customer": repr(self.orders_per_customer),
            "products": str(self.product_count),
            "reference_date": REFERENCE_DATE.isoformat(),
        }

    # -- whole tables ---------------------------------------------------------------------------------

    def rows(self, table: str) -> Iterator[Row]:
        """Every row of ``table`` (one of ``TABLES_IN_ORDER``), streamed."""
        if table not in TABLES_IN_ORDER:
            raise ValueError(f"unknown ERP table {table!r}; expected one of {', '.join(TABLES_IN_ORDER)}")
        return self._rows(table)

    def _rows(self, table: str) -> Iterator[Row]:
        org = self.organisation
        reference: dict[str, Sequence[Row]] = {
            "regions": org.regions,
            "territories": org.territories,
            "employees": org.employees,
            "employee_territories": org.employee_territories,
        }
        if table in reference:
            yield from (dict(row) for row in reference[table])
        elif table == "products":
            yield from (item.row() for item in self.catalogue)
        else:
            for chunk in self.chunks(companies_per_chunk=500, tables=(table,)):
                yield from chunk[table]

    def chunks(
        self, companies_per_chunk: int = 2000, *, tables: Sequence[str] = COMPANY_TABLES
    ) -> Iterator[dict[str, list[Row]]]:
        """The per-company ``tables`` for consecutive slices of companies: each chunk maps every table (in
        dependency order) to its rows for that slice. Every company is generated once, so writers insert
        chunk by chunk rather than table by table."""
        if isinstance(companies_per_chunk, bool) or not isinstance(companies_per_chunk, int):
            raise ValueError(f"companies_per_chunk must be an integer, got {companies_per_chunk!r}")
        if companies_per_chunk < 1:
            raise ValueError(f"companies_per_chunk must be at least 1, got {companies_per_chunk}")
        unknown = [table for table in tables if table not in COMPANY_TABLES]
        if unknown:
            raise ValueError(f"not per-company ERP tables: {', '.join(map(repr, unknown))}")
        return self._chunks(companies_per_chunk, [table for table in COMPANY_TABLES if table in tables])

    def _chunks(self, companies_per_chunk: int, wanted: list[str]) -> Iterator[dict[str, list[Row]]]:
        want_orders = "orders" in wanted or "order_lines" in wanted
        for start in range(0, self.size, companies_per_chunk):
            chunk: dict[str, list[Row]] = {table: [] for table in wanted}
            for index in range(start, min(start + companies_per_chunk, self.size)):
                draft = self._make_draft(index)  # bypass the cache: sequential scans never revisit
                if "companies" in chunk:
                    chunk["companies"].append(dict(draft.row))
                if "contacts" in chunk:
                    chunk["contacts"].extend(self._contacts(index, draft))
                if "credit_terms" in chunk:
                    terms = self._credit_terms(index, draft)
                    if terms is not None:
                        chunk["credit_terms"].append(terms)
                if want_orders:
                    for order, lines in self._orders(index, draft):
                        if "orders" in chunk:
                            chunk["orders"].append(order)
                        if "order_lines" in chunk:
                            chunk["order_lines"].extend(lines)
            yield chunk

    # -- one company ----------------------------------------------------------------------------------

    def company(self, index: int) -> Row:
        """The row of company ``index`` (0-based; its id is ``index + 1``)."""
        return dict(self._draft(self._checked(index)).row)

    def contacts_of(self, index: int) -> list[Row]:
        return self._contacts(index, self._draft(self._checked(index)))

    def credit_terms_of(self, index: int) -> Row | None:
        """The company's credit terms, or ``None`` for the few companies without any."""
        return self._credit_terms(index, self._draft(self._checked(index)))

    def orders_of(self, index: int) -> list[OrderWithLines]:
        """The company's orders, oldest first, each with its lines."""
        return self._orders(index, self._draft(self._checked(index)))

    def _checked(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size:
            raise IndexError(f"company index must be an integer in [0, {self.size}), got {index!r}")
        return index

    # -- generation -----------------------------------------------------------------------------------

    def _make_draft(self, index: int) -> _CompanyDraft:
        rng = record_rng(self.seed, "companies", index)
        country: Country = self._countries.pick(rng)
        territory = pick(rng, self.organisation.children_by_country[country.code])
        city = pick(rng, territory.subdivision.cities)
        pool = locale_pool(country.locale)
        legal_form: str = self._legal_forms[country.code].pick(rng)
        base = self._base_name(rng, country, pool)
        name = self._full_name(rng, country, base, legal_form)
        domain_label = slug(base)
        if rng.random() < 0.4:
            domain_label = domain_label.replace("-", "")
        domain = f"{domain_label}.{country.tld}"
        created_at = REFERENCE_DATE - dt.timedelta(seconds=rng.randrange(30 * 86_400, 12 * 365 * 86_400))
        updated_at = created_at + dt.timedelta(
            seconds=rng.randrange(int((REFERENCE_DATE - created_at).total_seconds()))
        )
        revenue: Decimal | None = None
        if rng.random() < 0.85:
            low, high = self._revenue_bands.pick(rng)
            revenue = Decimal(rng.randrange(low, high) // 1000 * 1000)
        row: Row = {
            "id": index + 1,
            "code": f"C{index + 1:07d}",
            "name": name.upper() if rng.random() < 0.03 else name,
            "legal_form": legal_form if rng.random() < 0.95 else None,
            "tax_id": vat_number(rng, country, legal_form) if rng.random() < 0.94 else None,
            "email": f"{pick(rng, GENERIC_MAILBOXES[country.language])}@{domain}"
            if rng.random() < 0.92
            else None,
            "phone": phone_number(rng, country, city.area_code) if rng.random() < 0.96 else None,
            "website": (f"https://www.{domain}" if rng.random() < 0.7 else f"www.{domain}")
            if rng.random() < 0.8
            else None,
            "street": self._street(rng, country, pool),
            "city": city.name,
            "region": territory.subdivision.name,
            # Eircodes are recent; many Irish records still lack one.
            "postal_code": postal_code(rng, city.postal_pattern)
            if rng.random() < (0.7 if country.code == "IE" else 0.98)
            else None,
            "country": country.code,
            "industry": pick(rng, INDUSTRIES) if rng.random() < 0.9 else None,
            "annual_revenue": revenue,
            "territory_id": territory.id,
            "sales_rep_id": pick(rng, territory.rep_ids),
            "created_at": created_at,
            "updated_at": updated_at,
        }
        return _CompanyDraft(row, country, territory, pool, domain)

    @staticmethod
    def _base_name(rng: random.Random, country: Country, pool: LocalePool) -> str:
        style = rng.random()
        noun = pick(rng, BUSINESS_NOUNS[country.language])
        family = pick(rng, pool.male_last)
        if style < 0.3:
            return family
        if style < 0.45:
            return f"{family}{PARTNER_JOINERS[country.language]}{pick(rng, pool.male_last)}"
        if style < 0.75:
            return f"{noun} {family}" if country.language in NOUN_FIRST_LANGUAGES else f"{family} {noun}"
        return f"{pick(rng, BRANDS[country.code])} {noun}"

    @staticmethod
    def _full_name(rng: random.Random, country: Country, base: str, legal_form: str) -> str:
        roll = rng.random()
        if roll < 0.12:  # the legal form is often missing from the name field
            return base
        if country.code == "US" and roll < 0.35:
            return f"{base}, {legal_form}"
        return f"{base} {legal_form}"

    @staticmethod
    def _street(rng: random.Random, country: Country, pool: LocalePool) -> str:
        street = pick(rng, pool.streets)
        if country.code == "US":
            address = f"{rng.randrange(100, 9999)} {street}"
            return f"{address}, Suite {rng.randrange(100, 999)}" if rng.random() < 0.2 else address
        if country.code in ("GB", "IE"):
            return f"{rng.randrange(1, 250)} {street}"
        if country.code == "FR":
            return f"{rng.randrange(1, 120)}{',' if rng.random() < 0.5 else ''} {street}"
        number = str(rng.randrange(1, 180))
        if country.code == "PL":
            flat = f"/{rng.randrange(1, 40)}" if rng.random() < 0.3 else ""
            return f"{'ul. ' if rng.random() < 0.7 else ''}{street} {number}{flat}"
        if country.code == "ES":
            return f"{street}, {number}"
        return f"{street} {number}"

    def _contacts(self, index: int, draft: _CompanyDraft) -> list[Row]:
        rng = record_rng(self.seed, "contacts", index)
        company_id = index + 1
        contacts = []
        for k in range(pick(rng, _CONTACT_COUNTS)):
            first, last = draft.pool.person(rng)
            has_email = rng.random() < 0.82
            has_phone = rng.random() < 0.7
            area_code = pick(rng, draft.territory.subdivision.cities).area_code
            contacts.append(
                {
                    "id": (company_id - 1) * MAX_CONTACTS_PER_COMPANY + k + 1,
                    "company_id": company_id,
                    "first_name": first,
                    "last_name": last,
                    "email": f"{person_mailbox(rng, first, last)}@{draft.domain}" if has_email else None,
                    "phone": phone_number(rng, draft.country, area_code) if has_phone else None,
                    "title": pick(rng, CONTACT_TITLES),
                    "is_primary": k == 0,
                }
            )
        return contacts

    def _credit_terms(self, index: int, draft: _CompanyDraft) -> Row | None:
        rng = record_rng(self.seed, "credit_terms", index)
        if rng.random() < 0.12:
            return None
        currency = draft.country.currency
        limit = round(pick(rng, _CREDIT_LIMITS_EUR) * RATES_FROM_EUR[currency], -3)
        created_at: dt.datetime = draft.row["created_at"]
        span = int((REFERENCE_DATE - created_at).total_seconds())
        return {
            "company_id": index + 1,
            "credit_limit": Decimal(int(limit)),
            "currency": currency,
            "payment_terms_days": pick(rng, _PAYMENT_TERMS),
            "on_hold": rng.random() < 0.04,
            "updated_at": created_at + dt.timedelta(seconds=rng.randrange(span)),
        }

    def _orders(self, index: int, draft: _CompanyDraft) -> list[OrderWithLines]:
        rng = record_rng(self.seed, "orders", index)
        mean = self.orders_per_customer
        count = min(MAX_ORDERS_PER_COMPANY, round(rng.triangular(0.0, 2 * mean, mean))) if mean else 0
        company = draft.row
        start = max(company["created_at"], REFERENCE_DATE - _HISTORY)
        span = int((REFERENCE_DATE - start).total_seconds())
        moments = sorted(int(rng.random() * span) for _ in range(count))
        currency = draft.country.currency
        prices = self._prices[currency]
        price_decimals = self._price_decimals[currency]
        reps = draft.territory.rep_ids
        random_ = rng.random
        orders: list[OrderWithLines] = []
        for k, offset in enumerate(moments):
            order_id = (index * MAX_ORDERS_PER_COMPANY) + k + 1
            ordered_at = start + dt.timedelta(seconds=offset)
            age_days = (REFERENCE_DATE - ordered_at).days
            status, settle_days = self._status(rng, age_days)
            updated_at = min(ordered_at + dt.timedelta(days=settle_days, seconds=int(random_() * 86_400)),
                             REFERENCE_DATE)  # fmt: skip
            # Discontinued products only appear in older orders.
            products = self._active_products if age_days < 365 else self._orderable
            lines: list[Row] = []
            total_cents = 0
            for line_no in range(1, 2 + int(random_() * 5)):
                item = products[int(random_() * len(products))]
                quantity = _QUANTITIES[int(random_() * len(_QUANTITIES))]
                discount_bp = _DISCOUNT_BASIS_POINTS[int(random_() * len(_DISCOUNT_BASIS_POINTS))]
                price_cents = prices[item.id - 1]
                amount_cents = (int(quantity) * price_cents * (10_000 - discount_bp) + 5_000) // 10_000
                total_cents += amount_cents
                lines.append(
                    {
                        "id": (order_id - 1) * MAX_LINES_PER_ORDER + line_no,
                        "order_id": order_id,
                        "line_no": line_no,
                        "product_id": item.id,
                        "description": item.name,
                        "quantity": quantity,
                        "unit_price": price_decimals[item.id - 1],
                        "discount": _DISCOUNTS[discount_bp],
                        "amount": _money(amount_cents),
                    }
                )
            if random_() < 0.08:  # freight, priced per order
                line_no = len(lines) + 1
                freight_cents = round(rng.randrange(1_500, 15_000) * RATES_FROM_EUR[currency])
                total_cents += freight_cents
                lines.append(
                    {
                        "id": (order_id - 1) * MAX_LINES_PER_ORDER + line_no,
                        "order_id": order_id,
                        "line_no": line_no,
                        "product_id": self._freight.id,
                        "description": self._freight.name,
                        "quantity": _QUANTITIES[0],
                        "unit_price": _money(freight_cents),
                        "discount": _DISCOUNTS[0],
                        "amount": _money(freight_cents),
                    }
                )
            order = {
                "id": order_id,
                "number": f"SO-{ordered_at.year}-{order_id:08d}",
                "company_id": index + 1,
                "ordered_at": ordered_at,
                "status": status,
                "currency": currency,
                "total": _money(total_cents),
                "sales_rep_id": company["sales_rep_id"]
                if random_() < 0.9
                else reps[int(random_() * len(reps))],
                "updated_at": updated_at,
            }
            orders.append((order, lines))
        return orders

    @staticmethod
    def _status(rng: random.Random, age_days: int) -> tuple[str, int]:
        """The order's status at the reference date and roughly how many days after ordering it got there."""
        roll, delay = rng.random(), rng.random()
        if roll < 0.04:
            return "cancelled", min(age_days, int(delay * 6))
        if age_days < 5 or (age_days < 20 and roll < 0.45):
            return "open", min(age_days, int(delay * 2))
        if (age_days < 60 and roll < 0.5) or roll > 0.97:
            return "shipped", min(age_days, 2 + int(delay * 9))
        return "invoiced", min(age_days, 5 + int(delay * 26))
