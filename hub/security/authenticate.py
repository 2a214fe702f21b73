"""From an ``Authorization: Bearer <token>`` header to a ``Principal``: an API key of the hub's database,
or a JWT from the configured identity provider."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .api_keys import find_api_key, key_state
from .config import SecurityConfig
from .errors import AuthenticationError
from .jwt_auth import JwtVerifier, looks_like_jwt
from .principal import Principal, UnknownRoleError, principal_for

if TYPE_CHECKING:
    from hub.store import Database

MAX_TOKEN_LENGTH = 8192


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header; ``None`` when there is no header at all."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("use `Authorization: Bearer <API key or JWT>`", token_presented=True)
    token = token.strip()
    if len(token) > MAX_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise AuthenticationError("the bearer token is malformed", token_presented=True)
    return token


def _claim_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise AuthenticationError(
        "the token's territories claim must be a list of territory ids", token_presented=True
    )


class Authenticator:
    def __init__(self, config: SecurityConfig, db: Database, base_dir: Path) -> None:
        self.config = config
        self.db = db
        self.jwt = JwtVerifier(config.jwt, base_dir) if config.jwt is not None else None

    async def authenticate(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        if token is None:
            raise AuthenticationError(
                "this endpoint needs `Authorization: Bearer <token>`", token_presented=False
            )
        if self.jwt is not None and looks_like_jwt(token):
            return self._from_claims(await self.jwt.verify(token))
        return await self._from_api_key(token)

    async def _from_api_key(self, token: str) -> Principal:
        record = await find_api_key(self.db, token)
        if record is None:
            raise AuthenticationError("unknown API key", token_presented=True)
        state = key_state(record)
        if state != "active":
            raise AuthenticationError(f"the API key is {state}", token_presented=True)
        try:
            return principal_for(
                self.config,
                id=f"key:{record.id}",
                name=record.name,
                role=record.role,
                kind="api_key",
                territory_ids=record.territories or [],
                rep_id=record.rep_id,
            )
        except UnknownRoleError:
            raise AuthenticationError(
                f"the API key's role {record.role!r} is no longer configured", token_presented=True
            ) from None

    def _from_claims(self, claims: dict[str, Any]) -> Principal:
        config = self.config.jwt
        assert config is not None
        role = claims.get(config.role_claim)
        if not isinstance(role, str):
            raise AuthenticationError(f"the token has no {config.role_claim!r} claim", token_presented=True)
        subject = str(claims["sub"])
        name = claims.get(config.name_claim)
        rep = claims.get(config.rep_claim)
        try:
            return principal_for(
                self.config,
                id=f"jwt:{claims['iss']}|{subject}"[:300],
                name=(name if isinstance(name, str) and name else subject)[:200],
                role=role,
                kind="jwt",
                territory_ids=_claim_list(claims.get(config.territories_claim)),
                rep_id=rep if isinstance(rep, str) and rep else None,
            )
        except UnknownRoleError:
            raise AuthenticationError(
                f"role {role!r} is not configured on this hub", token_presented=True
            ) from None

    async def aclose(self) -> None:
        if self.jwt is not None:
            await self.jwt.aclose()
