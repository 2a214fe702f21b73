"""Verifying bearer JWTs: HS256 with a shared secret, RS256 with keys from a JWKS (a file, or a URL fetched
with httpx and cached; a token naming an unknown key refetches it, at most every
``jwks_min_refresh_seconds``, so an identity provider can rotate keys).

The algorithm of a token picks its key type, and only configured algorithms are accepted, so an RS256
public key can never be (mis)used as an HS256 secret and ``alg: none`` never verifies.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt

from .config import JwtConfig
from .errors import AuthenticationError, AuthUnavailableError

_REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def _invalid(description: str) -> AuthenticationError:
    return AuthenticationError(description, token_presented=True)


class JwksCache:
    """The RS256 signing keys by key id, from a JWKS file or URL."""

    def __init__(self, config: JwtConfig, base_dir: Path) -> None:
        self._config = config
        self._file = (base_dir / config.jwks_file) if config.jwks_file else None
        self._keys: dict[str | None, Any] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None

    async def key(self, kid: str | None) -> Any:
        now = time.monotonic()
        stale = self._fetched_at is None or now - self._fetched_at > self._config.jwks_cache_seconds
        unknown = kid not in self._keys and not (kid is None and len(self._keys) == 1)
        may_refresh = (
            self._fetched_at is None or now - self._fetched_at >= self._config.jwks_min_refresh_seconds
        )
        if stale or (unknown and may_refresh):
            await self._refresh(force=unknown)
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        found = self._keys.get(kid)
        if found is None:
            raise _invalid("the token is signed with a key the hub does not know")
        return found

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            fetched = self._fetched_at
            if (
                fetched is not None
                and not force
                and time.monotonic() - fetched <= self._config.jwks_cache_seconds
            ):
                return  # another request refreshed while this one waited
            try:
                document = await self._load()
                keys = jwt.PyJWKSet.from_dict(document).keys
            except (OSError, ValueError, httpx.HTTPError, jwt.PyJWTError) as exc:
                if self._keys:
                    return  # keep verifying with the keys we have; the provider may be back soon
                raise AuthUnavailableError(f"the JWT signing keys cannot be loaded: {exc}") from None
            self._keys = {k.key_id: k for k in keys if getattr(k, "public_key_use", None) in (None, "sig")}
            self._fetched_at = time.monotonic()

    async def _load(self) -> dict[str, Any]:
        if self._file is not None:
            document = json.loads(await asyncio.to_thread(self._file.read_text, encoding="utf-8"))
        else:
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=self._config.jwks_timeout_seconds)
            response = await self._client.get(str(self._config.jwks_url))
            response.raise_for_status()
            document = response.json()
        if not isinstance(document, dict):
            raise ValueError("a JWKS document is a JSON object with a `keys` list")
        return document

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class JwtVerifier:
    def __init__(self, config: JwtConfig, base_dir: Path) -> None:
        self.config = config
        self._jwks = JwksCache(config, base_dir) if "RS256" in config.algorithms else None

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims once signature, issuer, audience and expiry hold; else raises
        ``AuthenticationError``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("the bearer token is neither an API key nor a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in self.config.algorithms:
            raise _invalid(f"JWT algorithm {algorithm!r} is not accepted")
        key: Any
        if algorithm == "HS256":
            assert self.config.hs256_secret is not None  # the config requires it with HS256
            key = self.config.hs256_secret.get_secret_value()
        else:
            assert self._jwks is not None
            kid = header.get("kid")
            key = await self._jwks.key(kid if isinstance(kid, str) else None)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_seconds,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise _invalid("the token is not meant for this API (audience)") from None
        except jwt.InvalidIssuerError:
            raise _invalid("the token comes from an issuer this hub does not trust") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.ImmatureSignatureError:
            raise _invalid("the token is not valid yet") from None
        except jwt.PyJWTError:
            raise _invalid("the token's signature does not verify") from None
        return claims

    async def aclose(self) -> None:
        if self._jwks is not None:
            await self._jwks.aclose()
