"""Input cleaning shared by the CRM services: every value is trimmed, bounded and checked here, and a bad
one raises ``ValidationError`` naming the field, so services never store or crash on bad input."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ValidationError

Cleaner = Callable[[Any, str], Any]
TextCleaner = Callable[[Any, str], str | None]

MAX_MONEY = Decimal("1000000000000")  # a trillion: anything larger is a typo, not a deal
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^[0-9+\-() ./]+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Field:
    """How one input field is cleaned and which column it lands in."""

    cleaner: Cleaner
    column: str | None = None
    required: bool = False


def clean_fields(values: Mapping[str, Any], spec: Mapping[str, Field], *, creating: bool) -> dict[str, Any]:
    """Clean ``values`` against ``spec``; returns column -> value. Creating also enforces required fields."""
    for name in values:
        if name not in spec:
            raise ValidationError(f"unknown field {name!r}", field=name)
    cleaned: dict[str, Any] = {}
    for name, field in spec.items():
        if name not in values:
            if creating and field.required:
                raise ValidationError(f"{name.replace('_', ' ')} is required", field=name)
            continue
        value = field.cleaner(values[name], name)
        if field.required and value is None:
            raise ValidationError(f"{name.replace('_', ' ')} is required", field=name)
        cleaned[field.column or name] = value
    return cleaned


def text(max_length: int, *, multiline: bool = False) -> TextCleaner:
    def clean(value: Any, field: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValidationError(f"{field} must be text", field=field)
        value = value.strip()
        if not multiline:
            value = " ".join(value.split())
        if _CONTROL.search(value):
            raise ValidationError(f"{field} contains control characters", field=field)
        if len(value) > max_length:
            raise ValidationError(f"{field} must be at most {max_length} characters", field=field)
        return value or None

    return clean


def email(value: Any, field: str) -> str | None:
    cleaned = text(320)(value, field)
    if cleaned is None:
        return None
    if not _EMAIL.match(cleaned):
        raise ValidationError(f"{field} is not an email address", field=field)
    return cleaned.lower()


def phone(value: Any, field: str) -> str | None:
    cleaned = text(50)(value, field)
    if cleaned is None:
        return None
    if not _PHONE.match(cleaned) or len(re.sub(r"\D", "", cleaned)) < 6:
        raise ValidationError(f"{field} is not a phone number", field=field)
    return cleaned


def _code(pattern: re.Pattern[str], what: str) -> TextCleaner:
    def clean(value: Any, field: str) -> str | None:
        cleaned = text(100)(value, field)
        if cleaned is None:
            return None
        cleaned = cleaned.upper()
        if not pattern.match(cleaned):
            raise ValidationError(f"{field} must be {what}", field=field)
        return cleaned

    return clean


country = _code(_COUNTRY, "a two-letter ISO 3166 country code")
currency = _code(_CURRENCY, "a three-letter ISO 4217 currency code")


def to_decimal(value: Any, field: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal, float)):
        raise ValidationError(f"{field} must be a number", field=field)
    try:
        number = Decimal(str(value).strip().replace(" ", ""))
    except InvalidOperation:
        raise ValidationError(f"{field} must be a number", field=field) from None
    if not number.is_finite():
        raise ValidationError(f"{field} must be a finite number", field=field)
    return number


def money(value: Any, field: str) -> int | None:
    """A non-negative amount with at most two decimals, as hundredths."""
    number = to_decimal(value, field)
    if number is None:
        return None
    if number < 0:
        raise ValidationError(f"{field} must not be negative", field=field)
    if number > MAX_MONEY:
        raise ValidationError(f"{field} must be at most {MAX_MONEY}", field=field)
    if number != number.quantize(Decimal("0.01")):
        raise ValidationError(f"{field} must have at most two decimal places", field=field)
    return int(number * 100)


def from_minor(value: int | None) -> Decimal | None:
    return None if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


def integer(minimum: int, maximum: int) -> Cleaner:
    def clean(value: Any, field: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{field} must be a whole number", field=field)
        if not minimum <= value <= maximum:
            raise ValidationError(f"{field} must be between {minimum} and {maximum}", field=field)
        return value

    return clean


def boolean(value: Any, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValidationError(f"{field} must be true or false", field=field)


def choice(options: Sequence[str]) -> Cleaner:
    """One of ``options``, matched case-insensitively (``closed won`` -> ``Closed Won``)."""
    by_key = {option.casefold(): option for option in options}

    def clean(value: Any, field: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            found = by_key.get(" ".join(value.split()).casefold().replace("_", " ")) or by_key.get(
                value.strip().casefold()
            )
            if found:
                return found
        raise ValidationError(f"{field} must be one of: {', '.join(options)}", field=field)

    return clean


def date(value: Any, field: str) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(f"{field} must be a date (YYYY-MM-DD)", field=field)


def timestamp(value: Any, field: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"{field} must be an ISO 8601 date-time", field=field) from None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    raise ValidationError(f"{field} must be an ISO 8601 date-time", field=field)


def reference(value: Any, field: str) -> str | None:
    """An id of another record; its existence is checked by the service."""
    cleaned = text(40)(value, field)
    return cleaned
