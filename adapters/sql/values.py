"""Value conversions at the database boundary.

Rows -> canonical models: drivers return floats for REAL columns, ints for numeric codes, lists for
PostgreSQL arrays; the canonical models want ``Decimal`` money and text references.

Canonical text keys -> query parameters: on PostgreSQL a parameter must have the column's type (asyncpg
encodes by the type the server infers), so keys are parsed according to the column type learned once per
entity. SQLite's column affinity converts text parameters itself.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, get_args, get_origin

from .spec import unwrap_optional

Converter = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def float_to_decimal(value: float) -> Decimal:
    # 15 significant digits is what a double holds exactly: 0.1 + 0.2 arrives as 0.3, not 0.30000000000000004.
    return Decimal(format(value, ".15g"))


def _to_decimal(value: Any) -> Any:
    if isinstance(value, float):
        return float_to_decimal(value)
    return value


def _to_text(value: Any) -> Any:
    if type(value) is str:  # the common case first: bulk reads convert every row
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return format(value, ".15g")
    if isinstance(value, int | Decimal | uuid.UUID):
        return str(value)
    return value


def _to_text_tuple(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return tuple(_to_text(item) for item in value)
    return value


def converter_for(annotation: Any) -> Converter:
    """How to pre-convert a database value for a canonical field of this type (pydantic does the rest)."""
    target = unwrap_optional(annotation)
    if target is Decimal:
        return _to_decimal
    if target is str:
        return _to_text
    if get_origin(target) is tuple and get_args(target)[:1] == (str,):
        return _to_text_tuple
    return _identity


def key_text(value: Any) -> str:
    """A key column value as the SDK's text external id (stripped, as canonical models strip ids)."""
    kind = type(value)
    if kind is int:  # the common cases first: bulk reads convert every row
        return str(value)
    if kind is str:
        return str(value).strip()
    if isinstance(value, float):
        return format(value, ".15g")
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value).strip()


# -- PostgreSQL parameter types -----------------------------------------------------------------------

_PG_INTEGERS = frozenset({20, 21, 23, 26})  # int8, int2, int4, oid
_PG_FLOATS = frozenset({700, 701})
_PG_NUMERIC = 1700
_PG_BOOL = 16
_PG_UUID = 2950
_PG_DATE = 1082
_PG_TIMESTAMPS = frozenset({1114, 1184})
#: text, varchar, bpchar, name, unknown, citext has no fixed oid and falls back to text anyway
PG_TEXT_TYPES = frozenset({25, 1043, 1042, 19, 705})

_TRUE = frozenset({"t", "true", "1", "yes", "y", "on"})
_FALSE = frozenset({"f", "false", "0", "no", "n", "off"})


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


def _parse_int(text: str) -> int:
    stripped = text.strip()
    if not stripped.lstrip("+-").isdigit():
        raise ValueError(text)
    return int(stripped)


def _parse_decimal(text: str) -> Decimal:
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(text) from None


def _parse_datetime(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))


def pg_key_parser(type_oid: int | None) -> Callable[[str], Any]:
    """Parse a text key into the Python type asyncpg encodes for a column of ``type_oid``; raises
    ``ValueError`` for text that cannot be such a value (the key then simply matches nothing)."""
    if type_oid in _PG_INTEGERS:
        return _parse_int
    if type_oid == _PG_NUMERIC:
        return _parse_decimal
    if type_oid in _PG_FLOATS:
        return float
    if type_oid == _PG_BOOL:
        return _parse_bool
    if type_oid == _PG_UUID:
        return uuid.UUID
    if type_oid == _PG_DATE:
        return dt.date.fromisoformat
    if type_oid in _PG_TIMESTAMPS:
        return _parse_datetime
    return str


def sqlite_timestamp_text(moment: dt.datetime) -> str:
    """``moment`` in the text form SQLite's ``strftime('%Y-%m-%d %H:%M:%f', ...)`` produces (UTC)."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment
    # Truncated to milliseconds: a record changed in the same millisecond is re-read, never missed.
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}"
