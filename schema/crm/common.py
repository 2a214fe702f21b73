"""What every CRM module of the schema shares: the mutation error type, turning inputs into service
changes, and the small record types (sales reps) many others point at."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable
from enum import Enum
from typing import Any, TypeVar

import strawberry

from hub.crm.loaders import crm_loaders
from hub.crm.models import SalesRep as SalesRepRow
from hub.errors import HubError

from ..context import Info

T = TypeVar("T")


@strawberry.type(description="Why a mutation did not apply; nothing was written.")
class CrmError:
    code: str = strawberry.field(description="Stable code: BAD_USER_INPUT, NOT_FOUND, STALE_VERSION ...")
    field: str | None = strawberry.field(description="The input field at fault, when one is.")
    message: str


def crm_errors(exc: HubError) -> list[CrmError]:
    return [CrmError(code=exc.code, field=exc.field, message=exc.message)]


async def attempt(call: Awaitable[T]) -> tuple[T | None, list[CrmError]]:
    """Run a service call; a domain error becomes the payload's ``errors`` instead of a GraphQL error."""
    try:
        return await call, []
    except HubError as exc:
        return None, crm_errors(exc)


def changes(data: Any) -> dict[str, Any]:
    """The fields of an input object the client actually sent (UNSET ones are left out), as plain values."""
    sent: dict[str, Any] = {}
    for item in dataclasses.fields(data):
        value = getattr(data, item.name)
        if value is strawberry.UNSET:
            continue
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, list):
            value = [v.value if isinstance(v, Enum) else v for v in value]
        sent[item.name] = value
    return sent


def from_id(value: strawberry.ID | None) -> str | None:
    """An id argument as the services take it."""
    return None if value is None else str(value)


def to_id(value: str | None) -> strawberry.ID | None:
    """A stored reference as a GraphQL ID."""
    return None if value is None else strawberry.ID(value)


@strawberry.interface(description="Who created and last changed a CRM record, when, and its version.")
class Audited:
    version: int = strawberry.field(description="Pass it back with every update; a stale one is rejected.")
    created_at: dt.datetime
    updated_at: dt.datetime
    created_by: str
    updated_by: str


@strawberry.type
class SalesRep(Audited):
    id: strawberry.ID
    name: str
    email: str
    active: bool

    @classmethod
    def from_row(cls, row: SalesRepRow) -> SalesRep:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            email=row.email,
            active=row.active,
            **audit(row),
        )


async def load_rep(info: Info, rep_id: str | None) -> SalesRep | None:
    if rep_id is None:
        return None
    row = await crm_loaders(info.context).reps.load(rep_id)
    return SalesRep.from_row(row) if row else None


def audit(row: Any) -> dict[str, Any]:
    return {
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "created_by": row.created_by,
        "updated_by": row.updated_by,
    }
