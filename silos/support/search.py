"""A subset of the support desk's search syntax.

``type:ticket organization_id:5 organization_id:6 status<solved created>2024-01-01 "late delivery"``

* ``type:`` ticket, user or organization (without it all three are searched);
* ``field:value`` equality, ``field<value`` / ``field>value`` (also ``<=``/``>=``) for dates, status and
  priority; the same field repeated means any of the values, different fields must all match;
* a bare word or a double-quoted phrase matches text (subject and description, names, e-mail).

Lookups by organization, requester, e-mail and external id use indexes; everything else scans.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .data import PRIORITY_ORDER, STATUS_ORDER, Organization, SupportData, Ticket, User

RESULT_TYPES = ("ticket", "user", "organization")
_TERM = re.compile(r"^(?P<field>[a-z_]+)(?P<op><=|>=|:|<|>)(?P<value>.+)$", re.IGNORECASE)


class SearchError(ValueError):
    """A search query the desk cannot run; the message says which term is wrong."""


@dataclass(frozen=True)
class _Term:
    field: str
    op: str
    value: str


#: Searchable fields per result type and their kind (id, text, exact, date, status, priority, tag).
_FIELDS: dict[str, dict[str, str]] = {
    "ticket": {
        "organization_id": "id",
        "organization": "id",
        "requester_id": "id",
        "requester": "requester",
        "assignee_id": "id",
        "assignee": "id",
        "status": "status",
        "priority": "priority",
        "ticket_type": "exact",
        "subject": "text",
        "description": "text",
        "created": "date",
        "updated": "date",
        "tags": "tag",
        "tag": "tag",
    },
    "user": {
        "organization_id": "id",
        "organization": "id",
        "email": "exact",
        "role": "exact",
        "name": "text",
        "phone": "text",
        "created": "date",
        "updated": "date",
    },
    "organization": {
        "external_id": "exact",
        "name": "text",
        "created": "date",
        "updated": "date",
        "tags": "tag",
        "tag": "tag",
        "details": "text",
    },
}
_ALIASES = {
    "organization": "organization_id",
    "requester_id": "requester",
    "assignee": "assignee_id",
    "tag": "tags",
}


#: Record attribute behind each searchable field.
_ATTRIBUTES: dict[str, dict[str, str]] = {
    "ticket": {
        "organization_id": "organization_id",
        "requester": "requester_id",
        "assignee_id": "assignee_id",
        "status": "status",
        "priority": "priority",
        "ticket_type": "type",
        "subject": "subject",
        "description": "description",
        "created": "created",
        "updated": "updated",
        "tags": "tags",
    },
    "user": {
        "organization_id": "organization_id",
        "email": "email",
        "role": "role",
        "name": "name",
        "phone": "phone",
        "created": "created",
        "updated": "updated",
    },
    "organization": {
        "external_id": "external_id",
        "name": "name",
        "created": "created",
        "updated": "updated",
        "tags": "tags",
        "details": "details",
    },
}


def _read(result_type: str, record: Ticket | User | Organization, field: str) -> Any:
    return getattr(record, _ATTRIBUTES[result_type][field])


def _parse_date(text: str) -> tuple[dt.datetime, dt.datetime]:
    """A day or an instant, as the half-open interval it covers."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return start, start + dt.timedelta(days=1)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SearchError(f"{text!r} is not a date (YYYY-MM-DD or an ISO 8601 date-time)") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment, moment + dt.timedelta(seconds=1)


def _ordinal(kind: str, value: str) -> int:
    order = STATUS_ORDER if kind == "status" else PRIORITY_ORDER
    if value.lower() not in order:
        raise SearchError(f"{kind} must be one of {', '.join(order)}, got {value!r}")
    return order.index(value.lower())


def _test(data: SupportData, result_type: str, field: str, kind: str, term: _Term) -> Callable[[Any], bool]:
    """One ``field<op>value`` term as a predicate on a record."""
    op, value = term.op, term.value
    if kind in ("id", "exact", "text", "tag", "requester") and op != ":":
        raise SearchError(f"{term.field} only supports ':' (got {op!r})")

    def read(record: Any) -> Any:
        return _read(result_type, record, field)

    if kind in ("id", "requester"):
        if kind == "id" and not value.isdigit():
            raise SearchError(f"{term.field} needs a numeric id, got {value!r}")
        user = data.users_by_email.get(value.lower()) if "@" in value else None
        wanted_id = user.id if user else int(value) if value.isdigit() else -1
        return lambda record: bool(read(record) == wanted_id)
    wanted = value.lower()
    if kind == "exact":
        return lambda record: str(read(record) or "").lower() == wanted
    if kind == "text":
        return lambda record: wanted in str(read(record) or "").lower()
    if kind == "tag":
        return lambda record: wanted in read(record)
    compare = _COMPARE[op]
    if kind in ("status", "priority"):
        order = STATUS_ORDER if kind == "status" else PRIORITY_ORDER
        target = _ordinal(kind, value)

        def ranked(record: Any) -> bool:
            current = read(record)
            return current is not None and compare(order.index(current), target, target)

        return ranked
    start, end = _parse_date(value)
    return lambda record: compare(read(record), start, end)


def _matcher(
    data: SupportData, result_type: str, field: str, kind: str, terms: list[_Term]
) -> Callable[[Any], bool]:
    """A field's terms OR-ed: ``organization_id:1 organization_id:2`` matches either."""
    tests = [_test(data, result_type, field, kind, term) for term in terms]
    return lambda record: any(test(record) for test in tests)


# Comparisons against a value that covers [start, end): ``created:2024-01-01`` means that whole day.
_COMPARE: dict[str, Callable[[Any, Any, Any], bool]] = {
    ":": lambda v, s, e: s <= v < e if isinstance(s, dt.datetime) else v == s,
    "<": lambda v, s, e: v < s,
    "<=": lambda v, s, e: v < e if isinstance(s, dt.datetime) else v <= s,
    ">": lambda v, s, e: v >= e if isinstance(s, dt.datetime) else v > s,
    ">=": lambda v, s, e: v >= s,
}


def _tokens(query: str) -> list[str]:
    try:
        return shlex.split(query)
    except ValueError as exc:
        raise SearchError(f"the query cannot be read: {exc}") from None


def _candidates(data: SupportData, result_type: str, by_field: dict[str, list[_Term]]) -> Iterable[Any]:
    orgs = by_field.get("organization_id")
    if orgs and all(t.op == ":" and t.value.isdigit() for t in orgs):
        ids = sorted({int(t.value) for t in orgs})
        if result_type == "ticket":
            return sorted(
                (t for i in ids for t in data.tickets_by_organization.get(i, [])), key=lambda t: t.id
            )
        if result_type == "user":
            return sorted((u for i in ids for u in data.users_by_organization.get(i, [])), key=lambda u: u.id)
    requesters = by_field.get("requester")
    if result_type == "ticket" and requesters:
        requester_ids: set[int] = set()
        for term in requesters:
            user = data.users_by_email.get(term.value.lower())
            requester_ids.add(user.id if user else int(term.value) if term.value.isdigit() else -1)
        return sorted(
            (t for i in requester_ids for t in data.tickets_by_requester.get(i, [])), key=lambda t: t.id
        )
    emails = by_field.get("email")
    if result_type == "user" and emails:
        found = (data.users_by_email.get(t.value.lower()) for t in emails)
        return sorted((u for u in found if u is not None), key=lambda u: u.id)
    external = by_field.get("external_id")
    if result_type == "organization" and external:
        found_orgs = (data.organization_by_external_id.get(t.value.lower()) for t in external)
        return sorted((o for o in found_orgs if o is not None), key=lambda o: o.id)
    return data.collection(
        {"ticket": "tickets", "user": "users", "organization": "organizations"}[result_type]
    )


_TEXT_FIELDS = {"ticket": ("subject", "description"), "user": ("name", "email"), "organization": ("name",)}


def search(data: SupportData, query: str) -> list[tuple[str, Any]]:
    """``(result_type, record)`` pairs matching ``query``, tickets first, then users, then organizations,
    each by id."""
    types: list[str] = []
    terms: list[_Term] = []
    words: list[str] = []
    for token in _tokens(query):
        match = _TERM.match(token)
        if match is None:
            words.append(token.lower())
            continue
        field, op, value = match.group("field").lower(), match.group("op"), match.group("value")
        if field == "type":
            if value.lower() not in RESULT_TYPES:
                raise SearchError(f"type must be one of {', '.join(RESULT_TYPES)}, got {value!r}")
            types.append(value.lower())
            continue
        terms.append(_Term(_ALIASES.get(field, field), op, value))
    results: list[tuple[str, Any]] = []
    for result_type in types or list(RESULT_TYPES):
        fields = _FIELDS[result_type]
        by_field: dict[str, list[_Term]] = {}
        for term in terms:
            if term.field not in fields and not (
                term.field == "organization_id" and "organization" in fields
            ):
                if types:
                    known = ", ".join(sorted(fields))
                    raise SearchError(
                        f"{result_type} has no searchable field {term.field!r} (known: {known})"
                    )
                by_field = {}
                break
            by_field.setdefault(term.field, []).append(term)
        else:
            matchers = [_matcher(data, result_type, f, fields[f], ts) for f, ts in by_field.items()]
            text_fields = _TEXT_FIELDS[result_type]
            for record in _candidates(data, result_type, by_field):
                if not all(m(record) for m in matchers):
                    continue
                if words:
                    text = " ".join(str(_read(result_type, record, f) or "") for f in text_fields).lower()
                    if not all(word in text for word in words):
                        continue
                results.append((result_type, record))
    return results
