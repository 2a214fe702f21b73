"""Small HTTP helpers every silo uses: fast JSON responses, HTTP Basic parsing, checked query parameters."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response


class ParamError(ValueError):
    """A query parameter with a value the silo cannot use; the message names the parameter."""


def json_response(
    payload: Any,
    status: int = 200,
    *,
    headers: Mapping[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    return Response(
        orjson.dumps(payload), status_code=status, headers=dict(headers or {}), media_type=media_type
    )


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """``(username, password)`` from an ``Authorization: Basic`` header, ``None`` when absent or garbled."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def int_param(
    request: Request, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParamError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ParamError(f"{name} must be {bound}, got {value}")
    return value


def iso_param(request: Request, name: str) -> dt.datetime | None:
    """An ISO 8601 timestamp parameter; naive values are taken as UTC."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    # An unencoded "+" in a query string arrives as a space: "...T10:00:00 00:00" means "+00:00".
    text = re.sub(r"(\d) (\d{2}:?\d{2})$", r"\1+\2", raw.strip()).replace("Z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ParamError(f"{name} must be an ISO 8601 date-time, got {raw!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def utc_z(moment: dt.datetime) -> str:
    """``2024-05-01T12:00:00Z``: the form the support desk uses."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_offset(moment: dt.datetime) -> str:
    """``2024-05-01T12:00:00+00:00``: the form the marketing product uses."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")
