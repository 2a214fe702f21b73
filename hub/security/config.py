"""``security:`` in ``crmhub.yaml``: roles, JWT verification, query limits, rate limiting, introspection.

::

    security:
      roles:                          # replaces the sample set below when given
        sales_rep:
          permissions: [customer:read, order:read, lead:*, opportunity:*]
          rows: territory             # only the records of the principal's territories (and below)
      jwt:
        issuer: https://login.example.com/
        audience: crmhub
        algorithms: [RS256]
        jwks_url: https://login.example.com/.well-known/jwks.json
      limits: {max_depth: 15, max_aliases: 30, max_tokens: 5000, max_cost: 250000}
      rate_limit: {requests: 1200, window_seconds: 60, redis_url: redis://cache:6379/0}
      introspection: false

Secrets can come from the environment: ``CRMHUB_SECURITY__JWT__HS256_SECRET``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from cache.config import require_redis_client

from . import permissions as p

RowScope = Literal["all", "territory"]
JwtAlgorithm = Literal["HS256", "RS256"]


class RoleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    permissions: list[str] = Field(default_factory=list)
    #: ``all``: every record; ``territory``: only customers, leads, opportunities, activities, competitor
    #: notes and timeline entries of the principal's territories and the territories below them.
    rows: RowScope = "all"

    @field_validator("permissions")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for pattern in value:
            problem = p.pattern_problem(pattern)
            if problem:
                raise ValueError(problem)
        return value


_READ_SALES = [
    p.CUSTOMER_READ,
    p.ORDER_READ,
    p.TICKET_READ,
    p.MARKETING_READ,
    p.TERRITORY_READ,
    p.SALES_REP_READ,
]

DEFAULT_ROLES: dict[str, RoleConfig] = {
    "admin": RoleConfig(
        description="Everything, including keys, audit log and configuration.", permissions=["*"]
    ),
    "sales_manager": RoleConfig(
        description="All customers and the whole pipeline, territories and credit data.",
        permissions=[
            *_READ_SALES,
            p.CUSTOMER_EXPORT,
            p.FINANCE_READ,
            "lead:*",
            "opportunity:*",
            "activity:*",
            "competitor_note:*",
            p.TERRITORY_WRITE,
        ],
    ),
    "sales_rep": RoleConfig(
        description="The customers and pipeline of the rep's territories; no financial data.",
        permissions=[
            *_READ_SALES,
            p.LEAD_READ,
            p.LEAD_WRITE,
            p.OPPORTUNITY_READ,
            p.OPPORTUNITY_WRITE,
            p.ACTIVITY_READ,
            p.ACTIVITY_WRITE,
            p.COMPETITOR_NOTE_READ,
            p.COMPETITOR_NOTE_WRITE,
        ],
        rows="territory",
    ),
    "support_agent": RoleConfig(
        description="Customers, orders and tickets; logs activities. No pipeline, no financial data.",
        permissions=[
            p.CUSTOMER_READ,
            p.ORDER_READ,
            p.TICKET_READ,
            p.ACTIVITY_READ,
            p.ACTIVITY_WRITE,
            p.SALES_REP_READ,
        ],
    ),
    "finance": RoleConfig(
        description="Customers, orders and their financial data.",
        permissions=[p.CUSTOMER_READ, p.ORDER_READ, p.FINANCE_READ, p.CUSTOMER_EXPORT],
    ),
    "bi_reader": RoleConfig(
        description="Read-only reporting over customers and the pipeline; no financial data.",
        permissions=[
            *_READ_SALES,
            p.CUSTOMER_EXPORT,
            p.LEAD_READ,
            p.OPPORTUNITY_READ,
            p.ACTIVITY_READ,
            p.COMPETITOR_NOTE_READ,
            p.SOURCE_READ,
            p.METRICS_READ,
        ],
    ),
}


class JwtConfig(BaseModel):
    """Bearer JWTs from an identity provider: signature, issuer, audience and expiry are all checked."""

    model_config = ConfigDict(extra="forbid")

    issuer: str
    audience: str
    algorithms: list[JwtAlgorithm] = Field(
        default_factory=lambda: list[JwtAlgorithm](["RS256"]), min_length=1
    )
    hs256_secret: SecretStr | None = None
    #: RS256 keys: a JWKS document on disk (relative to the config file) or at a URL (cached).
    jwks_file: Path | None = None
    jwks_url: str | None = None
    jwks_cache_seconds: float = Field(default=300.0, ge=0)
    #: A token naming an unknown key id refetches the JWKS (key rotation), at most this often.
    jwks_min_refresh_seconds: float = Field(default=30.0, ge=0)
    jwks_timeout_seconds: float = Field(default=5.0, gt=0)
    leeway_seconds: float = Field(default=30.0, ge=0, le=300)
    role_claim: str = "crmhub_role"
    territories_claim: str = "crmhub_territories"
    rep_claim: str = "crmhub_rep"
    #: A claim naming the person (``actor`` of their writes); ``sub`` when absent.
    name_claim: str = "email"

    @model_validator(mode="after")
    def _keys_for_algorithms(self) -> JwtConfig:
        if "HS256" in self.algorithms and self.hs256_secret is None:
            raise ValueError("HS256 needs hs256_secret (e.g. from CRMHUB_SECURITY__JWT__HS256_SECRET)")
        if self.hs256_secret is not None and len(self.hs256_secret.get_secret_value()) < 32:
            raise ValueError("hs256_secret must be at least 32 characters")
        if "RS256" in self.algorithms and not (self.jwks_file or self.jwks_url):
            raise ValueError("RS256 needs jwks_file or jwks_url")
        if self.jwks_url and not self.jwks_url.startswith(("http://", "https://")):
            raise ValueError("jwks_url must be an http(s) URL")
        return self


class LimitsConfig(BaseModel):
    """What one GraphQL document may ask for; checked before anything executes."""

    model_config = ConfigDict(extra="forbid")

    max_depth: int = Field(default=15, ge=1)
    max_aliases: int = Field(default=30, ge=0)
    max_tokens: int = Field(default=5000, ge=10)
    #: Objects the query could return at most: each list multiplies what is below it by its `first`
    #: (or `assumed_list_size` for lists without one).
    max_cost: int = Field(default=250_000, ge=1)
    assumed_list_size: int = Field(default=10, ge=1)


class RateLimitConfig(BaseModel):
    """Requests per principal per window; counters live in Redis when ``redis_url`` is set (shared by every
    hub process), in memory otherwise."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    requests: int = Field(default=1200, ge=1)
    window_seconds: int = Field(default=60, ge=1, le=86_400)
    redis_url: SecretStr | None = None
    key_prefix: str = "crmhub:ratelimit:"

    @model_validator(mode="after")
    def _redis_client_installed(self) -> RateLimitConfig:
        if self.enabled and self.redis_url is not None:
            require_redis_client("a rate limit with redis_url")
        return self


class SecurityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: dict[str, RoleConfig] = Field(default_factory=lambda: dict(DEFAULT_ROLES))
    jwt: JwtConfig | None = None
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    #: Schema introspection; ``None`` = on in development, off in production.
    introspection: bool | None = None
    #: Record every mutation (who, what, when, which record) in the audit log.
    audit: bool = True

    @field_validator("roles")
    @classmethod
    def _role_names(cls, value: dict[str, RoleConfig]) -> dict[str, RoleConfig]:
        if not value:
            raise ValueError("at least one role is needed")
        for name in value:
            if not name.replace("_", "").isalnum() or not name[0].isalpha() or len(name) > 40:
                raise ValueError(f"role name {name!r}: letters, digits and '_', starting with a letter")
        return value

    def introspection_enabled(self, *, production: bool) -> bool:
        return (not production) if self.introspection is None else self.introspection
