"""``crmhub.yaml``: one file declaring the hub's database and its sources.

Values come from the YAML file, then from the environment (prefix ``CRMHUB_``, nested with ``__``), so
secrets need not live in the file::

    CRMHUB_DATABASE_URL=postgresql+asyncpg://hub@db/hub
    CRMHUB_SOURCES__ERP__PASSWORD=s3cret          # sets config.password of source "erp"
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from adapters.sql.config import missing_driver
from cache.config import CacheConfig

from .errors import ConfigError
from .hooks_config import HookConfig
from .identity.settings import ResolutionSettings, SurvivorshipConfig
from .resilience.config import ResilienceConfig
from .security.config import SecurityConfig
from .tracing import TracingConfig

ENV_PREFIX = "CRMHUB_"
_SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class SourceConfig(BaseModel):
    """One upstream system: its name in the hub, the adapter type, and that adapter's own config."""

    model_config = ConfigDict(extra="forbid")

    name: str
    adapter: str
    config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _SOURCE_NAME.match(value):
            raise ValueError("must be lower-case letters, digits or '_', starting with a letter (max 40)")
        return value


class IdentityConfig(ResolutionSettings):
    """Identity resolution: match rules, limits and block size (``ResolutionSettings``), plus which sources
    take part and how golden-profile fields are chosen (see ``hub/identity/settings.py``)."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    #: Sources whose customer records become hub customers of their own when no rule links them.
    seed_sources: list[str] = Field(default_factory=list)
    #: Sources whose records are resolved; empty: every source providing customers or marketing members.
    sources: list[str] = Field(default_factory=list)
    #: Contacts' e-mail addresses and phone numbers count as their organisation's.
    use_contacts: bool = True
    survivorship: SurvivorshipConfig = Field(default_factory=SurvivorshipConfig)


class GraphQLConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    graphiql: bool = True
    default_page_size: int = Field(default=20, ge=1)
    max_page_size: int = Field(default=100, ge=1)


#: The hub database's backends: the async driver each is pinned to, and the drivers a URL may name.
_HUB_DATABASES = {
    "sqlite": ("sqlite+aiosqlite", ("aiosqlite", "pysqlite")),
    "postgresql": ("postgresql+asyncpg", ("asyncpg",)),
    "postgres": ("postgresql+asyncpg", ("asyncpg",)),
}
_HUB_DATABASE_EXAMPLE = "e.g. sqlite+aiosqlite:///hub.sqlite or postgresql+asyncpg://user@host/db"


class HubSettings(BaseSettings):
    """The validated configuration. Environment variables override the file."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    database_url: str = "sqlite+aiosqlite:///crmhub.db"
    #: SQLite hub database: short reads (a customer and its links) first run on the event loop's thread and
    #: go to the async engine when they take longer than this (0: always the engine; see hub/store/inline.py).
    database_inline_read_budget_ms: float = Field(default=2.0, ge=0, le=50)
    environment: Literal["development", "production"] = "development"
    graphql: GraphQLConfig = Field(default_factory=GraphQLConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    resilience: ResilienceConfig = Field(default_factory=ResilienceConfig)
    tracing: TracingConfig = Field(default_factory=TracingConfig)
    #: Change notifications (``POST /hooks/{source}``) per source; see ``hub/hooks.py``.
    hooks: dict[str, HookConfig] = Field(default_factory=dict)
    #: Roles, JWT verification, query limits, rate limits; see ``hub/security/config.py``.
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    #: Directory of the config file; relative paths in it are resolved against this.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        """SQLite or PostgreSQL, pinned to the async driver the hub uses (``sqlite:///`` and
        ``postgresql://`` are accepted as such); anything else is refused here, not at the first query."""
        scheme, separator, rest = value.partition("://")
        backend, _, driver = scheme.partition("+")
        known = _HUB_DATABASES.get(backend)
        if not separator or known is None:
            raise ValueError(f"must be a SQLite or PostgreSQL URL ({_HUB_DATABASE_EXAMPLE})")
        pinned, drivers = known
        if driver and driver not in drivers:
            raise ValueError(f"the {backend} driver {driver!r} is not supported ({_HUB_DATABASE_EXAMPLE})")
        problem = missing_driver(pinned)
        if problem is not None:
            raise ValueError(problem)
        return f"{pinned}://{rest}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the file (passed as init kwargs).
        return _EnvWithoutSources(settings_cls), init_settings

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)


class _EnvWithoutSources(EnvSettingsSource):
    """Sources are a list keyed by name, which pydantic-settings cannot address; `_apply_source_env` does."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        data.pop("sources", None)
        return data


def _env_key(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def _apply_source_env(sources: list[Any], environ: Mapping[str, str]) -> None:
    """``CRMHUB_SOURCES__<NAME>__<FIELD>[__<SUBFIELD>]`` overrides a source's config value."""
    by_key = {_env_key(str(s.get("name", ""))): s for s in sources if isinstance(s, dict)}
    prefix = f"{ENV_PREFIX}SOURCES__"
    for key, value in environ.items():
        if not key.upper().startswith(prefix):
            continue
        name, _, path = key[len(prefix) :].partition("__")
        source = by_key.get(name.upper())
        if source is None or not path:
            continue
        node = source.setdefault("config", {})
        *parents, leaf = path.lower().split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value


def _resolve_database_url(url: str, base_dir: Path) -> str:
    """A relative SQLite path is relative to the config file, not to wherever the hub was started."""
    match = re.match(r"^(sqlite(?:\+\w+)?:///)(?!/)(.+)$", url)
    if match and not match.group(2).startswith(":memory:"):
        return f"{match.group(1)}{(base_dir / match.group(2)).resolve()}"
    return url


def _format_validation_error(path: Path, exc: ValidationError, raw: Mapping[str, Any]) -> str:
    err = exc.errors()[0]
    loc = list(err["loc"])
    where = ""
    if loc and loc[0] == "sources" and len(loc) > 1 and isinstance(loc[1], int):
        sources = raw.get("sources") or []
        entry = sources[loc[1]] if loc[1] < len(sources) else {}
        name = entry.get("name", f"#{loc[1] + 1}") if isinstance(entry, dict) else f"#{loc[1] + 1}"
        where = f"source {name!r}: "
        loc = loc[2:]
    field = ".".join(str(p) for p in loc) or "(top level)"
    return f"{path}: {where}{field}: {err['msg']}"


def load_settings(path: Path | str) -> HubSettings:
    """Read and validate a config file; raise ``ConfigError`` naming the file, source and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping (database_url, sources, ...)")
    raw.pop("base_dir", None)
    if isinstance(raw.get("sources"), list):
        _apply_source_env(raw["sources"], os.environ)
    base_dir = path.resolve().parent
    try:
        settings = HubSettings(**raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc, raw)) from None
    settings.base_dir = base_dir
    settings.database_url = _resolve_database_url(settings.database_url, base_dir)
    names = [s.name for s in settings.sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: sources: the name {duplicates[0]!r} is used more than once")
    unknown = [n for n in settings.identity.seed_sources if n not in names]
    if unknown:
        raise ConfigError(f"{path}: identity.seed_sources: no source named {unknown[0]!r}")
    unknown = [n for n in settings.identity.sources if n not in names]
    if unknown:
        raise ConfigError(f"{path}: identity.sources: no source named {unknown[0]!r}")
    unknown = sorted(settings.identity.survivorship.named_sources() - set(names))
    if unknown:
        raise ConfigError(f"{path}: identity.survivorship: no source named {unknown[0]!r}")
    for section, named in (
        ("cache.sources", settings.cache.sources),
        ("resilience.sources", settings.resilience.sources),
        ("hooks", settings.hooks),
    ):
        unknown = [n for n in named if n not in names]
        if unknown:
            raise ConfigError(f"{path}: {section}: no source named {unknown[0]!r}")
    return settings
