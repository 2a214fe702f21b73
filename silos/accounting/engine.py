"""Runs a parsed query against the books, using the id, customer and last-update indexes where it can so a
page costs O(page) for the lookups an adapter makes (by id, by customer, changed since)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .data import BOOKS_TZ, AccountingData
from .query import Condition, Query, QueryError

ENTITIES = ("Customer", "Invoice", "Payment")


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str  # id | str | num (read in cents) | date | datetime | bool
    get: Callable[[Any], Any]


def _common(*extra: _Field) -> dict[str, _Field]:
    fields = [
        _Field("Id", "id", lambda r: r.id),
        _Field("MetaData.CreateTime", "datetime", lambda r: r.created),
        _Field("MetaData.LastUpdatedTime", "datetime", lambda r: r.updated),
        *extra,
    ]
    return {f.name.lower(): f for f in fields}


FIELDS: dict[str, dict[str, _Field]] = {
    "Customer": _common(
        _Field("DisplayName", "str", lambda r: r.display_name),
        _Field("CompanyName", "str", lambda r: r.company_name),
        _Field("GivenName", "str", lambda r: r.given_name),
        _Field("FamilyName", "str", lambda r: r.family_name),
        _Field("PrimaryEmailAddr", "str", lambda r: r.email),
        _Field("Balance", "num", lambda r: r.balance_cents),
        _Field("Active", "bool", lambda r: True),
    ),
    "Invoice": _common(
        _Field("DocNumber", "str", lambda r: r.doc_number),
        _Field("CustomerRef", "id", lambda r: r.customer_id),
        _Field("TxnDate", "date", lambda r: r.txn_date),
        _Field("DueDate", "date", lambda r: r.due_date),
        _Field("TotalAmt", "num", lambda r: r.total_cents),
        _Field("Balance", "num", lambda r: r.balance_cents),
    ),
    "Payment": _common(
        _Field("CustomerRef", "id", lambda r: r.customer_id),
        _Field("TxnDate", "date", lambda r: r.txn_date),
        _Field("TotalAmt", "num", lambda r: r.total_cents),
    ),
}

_NO_MATCH = object()


def _coerce(field: _Field, value: str | float | bool) -> Any:
    """A query literal as the field's type; ``_NO_MATCH`` for an id that cannot exist."""
    kind = field.kind
    if kind == "id":
        try:
            return int(float(value)) if not isinstance(value, bool) else _NO_MATCH
        except ValueError:
            return _NO_MATCH
    if kind == "num":
        # Amounts are held in cents; an exact Decimal compares correctly with them.
        try:
            return Decimal(str(value)) * 100
        except InvalidOperation:
            raise QueryError(f"{field.name} needs a number, got {value!r}", code="4001") from None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise QueryError(f"{field.name} needs true or false, got {value!r}", code="4001")
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            raise QueryError(f"{field.name} needs a date (YYYY-MM-DD), got {value!r}", code="4001") from None
    if kind == "datetime":
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise QueryError(f"{field.name} needs an ISO date-time, got {value!r}", code="4001") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=BOOKS_TZ)
    return str(value).lower()


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if ch == "%" else re.escape(ch) for ch in pattern.lower()), re.DOTALL)


def _predicate(field: _Field, condition: Condition) -> Callable[[Any], bool]:
    if condition.op == "like":
        if field.kind != "str":
            raise QueryError(f"LIKE only works on text fields, not {field.name}", code="4001")
        regex = _like(str(condition.values[0]))
        return lambda r: (v := field.get(r)) is not None and regex.fullmatch(v.lower()) is not None
    values = [_coerce(field, value) for value in condition.values]
    lower = field.kind == "str"

    def read(record: Any) -> Any:
        value = field.get(record)
        return value.lower() if lower and value is not None else value

    if condition.op in ("=", "in"):
        wanted = {v for v in values if v is not _NO_MATCH}
        return lambda r: read(r) in wanted
    (target,) = values
    if target is _NO_MATCH:
        return lambda r: False
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "<": lambda a, b: a < b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
    }
    test = compare[condition.op]
    return lambda r: (v := read(r)) is not None and test(v, target)


@dataclass(frozen=True)
class Result:
    entity: str
    count: int | None
    records: list[Any]


def resolve_entity(name: str) -> str:
    for entity in ENTITIES:
        if entity.lower() == name.lower():
            return entity
    raise QueryError(f"Invalid entity {name!r}; this service knows {', '.join(ENTITIES)}", code="4001")


def _field(entity: str, name: str) -> _Field:
    field = FIELDS[entity].get(name.lower())
    if field is None:
        queryable = ", ".join(f.name for f in FIELDS[entity].values())
        raise QueryError(
            f"property '{name}' is not queryable on {entity} (queryable: {queryable})", code="4001"
        )
    return field


def _candidates(data: AccountingData, entity: str, query: Query) -> tuple[list[Any], bool]:
    """The smallest indexed superset of the matches, and whether it is already in Id order."""
    by_name = {c.field.lower(): c for c in query.where}
    id_condition = by_name.get("id")
    if id_condition is not None and id_condition.op in ("=", "in"):
        ids = sorted(
            {v for v in (_coerce(FIELDS[entity]["id"], x) for x in id_condition.values) if v is not _NO_MATCH}
        )
        return [r for r in (data.by_id(entity, i) for i in ids) if r is not None], True
    ref_condition = by_name.get("customerref")
    if entity != "Customer" and ref_condition is not None and ref_condition.op in ("=", "in"):
        field = FIELDS[entity]["customerref"]
        records: list[Any] = []
        for customer_id in {_coerce(field, x) for x in ref_condition.values} - {_NO_MATCH}:
            customer = data.customer(customer_id)
            if customer is not None:
                ids = customer.invoice_ids if entity == "Invoice" else customer.payment_ids
                records.extend(data.by_id(entity, i) for i in ids)
        return sorted(records, key=lambda r: r.id), True
    updated = by_name.get("metadata.lastupdatedtime")
    if updated is not None and updated.op in (">", ">="):
        moment = _coerce(FIELDS[entity]["metadata.lastupdatedtime"], updated.values[0])
        return data.updated_after(entity, moment, inclusive=updated.op == ">="), False
    return data.records(entity), True


def _sort_key(value: Any) -> tuple[bool, Any]:
    if isinstance(value, str):
        value = value.lower()
    return (value is not None, value if value is not None else 0)


def _sorter(field: _Field) -> Callable[[Any], tuple[bool, Any]]:
    return lambda record: _sort_key(field.get(record))


def execute(data: AccountingData, query: Query) -> Result:
    entity = resolve_entity(query.entity)
    predicates = [_predicate(_field(entity, c.field), c) for c in query.where]
    order = [(_field(entity, name), descending) for name, descending in query.order_by]
    candidates, id_ordered = _candidates(data, entity, query)
    matches = [r for r in candidates if all(p(r) for p in predicates)] if predicates else candidates
    if query.count:
        return Result(entity, len(matches), [])
    if order:
        matches = list(matches)
        for field, descending in reversed(order):
            # Missing values sort first ascending, as in the product.
            matches.sort(key=_sorter(field), reverse=descending)
    elif not id_ordered:
        matches = sorted(matches, key=lambda r: r.id)
    start = query.start_position - 1
    return Result(entity, None, matches[start : start + query.max_results])
