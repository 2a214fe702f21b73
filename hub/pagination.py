"""Relay-style pagination helpers shared by the services: opaque cursors, page-size limits, slicing."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson

from .errors import InvalidCursorError, InvalidInputError

T = TypeVar("T")


def encode_cursor(kind: str, values: Sequence[object]) -> str:
    payload = orjson.dumps([kind, *values])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, *, arity: int, field: str = "after") -> list[object]:
    """Decode a cursor made by ``encode_cursor(kind, ...)``; anything else is a clear client error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        decoded = None
    if not (isinstance(decoded, list) and len(decoded) == arity + 1 and decoded[0] == kind):
        raise InvalidCursorError(
            f"`{field}` is not a cursor of this list; pass a cursor returned by the same field",
            field=field,
        )
    return decoded[1:]


def check_page_size(first: int | None, *, default: int, maximum: int, field: str = "first") -> int:
    if first is None:
        return default
    if first < 0:
        raise InvalidInputError(f"`{field}` must not be negative", field=field)
    if first > maximum:
        raise InvalidInputError(f"`{field}` must be at most {maximum}", field=field)
    return first


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    total_count: int
    has_next_page: bool
    has_previous_page: bool

    @property
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def slice_list(items: Sequence[T], *, kind: str, first: int, after: str | None) -> Page[T]:
    """Offset pagination over a list already in memory (nested connections such as a customer's orders)."""
    start = 0
    if after is not None:
        (offset,) = decode_cursor(kind, after, arity=1)
        if not isinstance(offset, int) or offset < 0:
            raise InvalidCursorError("`after` is not a cursor of this list", field="after")
        start = offset + 1
    chosen = list(items[start : start + first])
    return Page(
        items=chosen,
        cursors=[encode_cursor(kind, [start + i]) for i in range(len(chosen))],
        total_count=len(items),
        has_next_page=start + first < len(items),
        has_previous_page=start > 0,
    )
