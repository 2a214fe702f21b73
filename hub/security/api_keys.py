"""API keys: created and revoked by an administrator, shown once, stored as a SHA-256 hash.

Why SHA-256 and not argon2/bcrypt: those are built to slow down guessing of *low-entropy* passwords. An
API key here is 256 random bits (``secrets.token_urlsafe(32)``); no amount of guessing gets near it, so a
slow hash would only add tens of milliseconds to every request. A plain digest also allows looking a key
up by its hash through a unique index, instead of checking it against every stored key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import or_, select

from hub.crm.types import utcnow
from hub.errors import InvalidInputError

from .config import SecurityConfig
from .errors import KeyNotFoundError
from .models import ApiKey
from .scope import UNRESTRICTED, activate

if TYPE_CHECKING:
    from hub.store import Database

KEY_PREFIX = "crmhub_"
#: Keys brought from elsewhere (``CRMHUB_DEMO_ADMIN_KEY``) must be at least this long and URL-safe.
_IMPORTED_KEY = re.compile(r"^[A-Za-z0-9_\-]{32,200}$")
KeyState = Literal["active", "revoked", "expired"]


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _new_key_id() -> str:
    return "key_" + base64.b32encode(uuid.uuid4().bytes).decode().rstrip("=").lower()


def key_state(record: ApiKey, *, now: dt.datetime | None = None) -> KeyState:
    if record.revoked_at is not None:
        return "revoked"
    if record.expires_at is not None and record.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: ``key`` is shown once and never stored."""

    key: str
    record: ApiKey


async def _resolve_territories(db: Database, wanted: Iterable[str]) -> list[str]:
    """Territory ids for ids or names; an unknown one is a clear error."""
    names = [w.strip() for w in wanted if w and w.strip()]
    if not names:
        return []
    from hub.crm.models import Territory

    async with db.session() as session:
        rows = (
            await session.execute(
                select(Territory.id, Territory.name).where(
                    or_(Territory.id.in_(names), Territory.name.in_(names))
                )
            )
        ).all()
    by_key = {key: row[0] for row in rows for key in row}
    unknown = [n for n in names if n not in by_key]
    if unknown:
        raise InvalidInputError(f"no territory with id or name {unknown[0]!r}", field="territories")
    return sorted({by_key[n] for n in names})


async def _check_rep(db: Database, rep_id: str | None) -> None:
    if rep_id is None:
        return
    from hub.crm.models import SalesRep

    async with db.session() as session:
        if await session.get(SalesRep, rep_id) is None:
            raise InvalidInputError(f"no sales rep with id {rep_id!r}", field="repId")


async def create_api_key(
    db: Database,
    config: SecurityConfig,
    *,
    role: str,
    actor: str,
    name: str | None = None,
    territories: Iterable[str] = (),
    rep_id: str | None = None,
    expires_at: dt.datetime | None = None,
    key: str | None = None,
) -> IssuedKey:
    """Create a key for ``role`` (bound to territories and/or a sales rep); ``key`` imports a given value."""
    role_config = config.roles.get(role)
    if role_config is None:
        raise InvalidInputError(
            f"unknown role {role!r}; configured roles: {', '.join(config.roles)}", field="role"
        )
    clean_name = " ".join((name or f"{role} key").split())
    if not clean_name or len(clean_name) > 200:
        raise InvalidInputError("the name must be 1 to 200 characters", field="name")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise InvalidInputError("expiresAt must carry a time zone", field="expiresAt")
        if expires_at <= utcnow():
            raise InvalidInputError("expiresAt must be in the future", field="expiresAt")
    if key is not None and not _IMPORTED_KEY.match(key):
        raise InvalidInputError(
            "a given key must be 32-200 characters of A-Z, a-z, 0-9, '_' or '-'", field="key"
        )
    with activate(UNRESTRICTED):
        territory_ids = await _resolve_territories(db, territories)
        await _check_rep(db, rep_id)
        if role_config.rows == "territory" and not territory_ids and rep_id is None:
            raise InvalidInputError(
                f"role {role!r} sees only its territories' records: "
                "bind the key to a territory or a sales rep",
                field="territories",
            )
        secret = key or generate_key()
        record = ApiKey(
            id=_new_key_id(),
            name=clean_name,
            role=role,
            territories=territory_ids,
            rep_id=rep_id,
            key_hash=hash_key(secret),
            prefix=secret[:14],
            created_at=utcnow(),
            created_by=actor,
            expires_at=expires_at,
        )
        async with db.transaction() as session:
            if await session.scalar(select(ApiKey.id).where(ApiKey.key_hash == record.key_hash)) is not None:
                raise InvalidInputError("this key is already registered", field="key")
            session.add(record)
    return IssuedKey(secret, record)


async def revoke_api_key(db: Database, key_id: str, *, actor: str) -> ApiKey:
    """Revoke a key (revoking a revoked key changes nothing); it stops working at once."""
    with activate(UNRESTRICTED):
        async with db.transaction() as session:
            record = await session.get(ApiKey, key_id) if len(key_id) <= 40 else None
            if record is None:
                raise KeyNotFoundError(f"no API key with id {key_id!r}", field="id")
            if record.revoked_at is None:
                record.revoked_at = utcnow()
                record.revoked_by = actor
    return record


async def list_api_keys(db: Database, *, include_revoked: bool = False) -> list[ApiKey]:
    statement = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        statement = statement.where(ApiKey.revoked_at.is_(None))
    with activate(UNRESTRICTED):
        async with db.session() as session:
            return list((await session.scalars(statement)).all())


async def find_api_key(db: Database, token: str) -> ApiKey | None:
    """The stored key ``token`` is, whatever its state; ``None`` when it is no key of ours."""
    if len(token) > 300:
        return None
    statement = select(ApiKey).where(ApiKey.key_hash == hash_key(token))
    with activate(UNRESTRICTED):
        # Every request with an API key asks: the loop-thread path of Database.read serves it when it can.
        return await db.read(lambda session: session.scalar(statement))
