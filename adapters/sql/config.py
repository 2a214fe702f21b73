"""Configuration of one SQL source: connection, limits and the table-to-entity mapping (see README.md).

Relative SQLite paths and ``mapping:`` files resolve against the directory of the config file, which
``Adapter.from_config`` passes as ``info.context["base_dir"]``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from sqlalchemy.engine import URL, make_url

from adapters.sdk.models import Entity

from .spec import EntitySpec

_URL_EXAMPLE = "e.g. sqlite:///erp.db or postgresql://user@host:5432/erp"
_POSTGRES_NAMES = ("postgresql", "postgres")
_MEMORY_DATABASES = ("", ":memory:")
#: The optional extra of each async driver that the base install leaves out.
_DRIVER_EXTRAS = {"asyncpg": "postgres"}


def missing_driver(drivername: str) -> str | None:
    """Why a URL of ``drivername`` (``postgresql+asyncpg``) cannot connect from this install, or ``None``:
    its driver is an optional extra that is not installed. Said when the configuration is read, with the
    command that fixes it, not as an import error when the first connection is made."""
    driver = drivername.partition("+")[2]
    extra = _DRIVER_EXTRAS.get(driver)
    if extra is None or importlib.util.find_spec(driver) is not None:
        return None
    return f"the {driver} driver is not installed: pip install 'crmhub[{extra}]'"


def _base_dir(info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    return Path(base) if base is not None else Path.cwd()


def _fail(loc: tuple[str | int, ...], message: str, value: Any = None) -> ValidationError:
    problem: InitErrorDetails = {
        "type": PydanticCustomError("sql_config", message),
        "loc": loc,
        "input": value,
    }
    return ValidationError.from_exception_data("SQLConfig", [problem])


def normalise_url(raw: str, base_dir: Path) -> URL:
    """Parse a SQLAlchemy URL and pin it to the async driver crmhub ships for its backend."""
    try:
        url = make_url(raw)
    except Exception:  # the parser's message echoes the whole URL, password included
        raise PydanticCustomError("sql_url", f"not a valid database URL ({_URL_EXAMPLE})") from None
    backend, _, driver = url.drivername.partition("+")
    if backend == "sqlite":
        if driver not in ("", "aiosqlite", "pysqlite"):
            raise PydanticCustomError(
                "sql_url", f"SQLite driver {driver!r} is not supported (use sqlite:///...)"
            )
        database = url.database or ""
        if database not in _MEMORY_DATABASES and not database.startswith("file:"):
            database = str((base_dir / database).resolve())
        return url.set(drivername="sqlite+aiosqlite", database=database)
    if backend in _POSTGRES_NAMES:
        if driver not in ("", "asyncpg"):
            raise PydanticCustomError(
                "sql_url", f"PostgreSQL driver {driver!r} is not supported (use postgresql://... for asyncpg)"
            )
        problem = missing_driver("postgresql+asyncpg")
        if problem is not None:
            raise PydanticCustomError("sql_url", problem)
        return url.set(drivername="postgresql+asyncpg")
    raise PydanticCustomError(
        "sql_url",
        f"unsupported database URL scheme {url.drivername!r}: use sqlite or postgresql ({_URL_EXAMPLE})",
    )


@dataclass(frozen=True, slots=True)
class MappingFile:
    """A ``mapping:`` file after loading: where it is and its raw ``entities:``."""

    path: Path
    entities: Mapping[str, Any]


def _load_mapping_file(value: Any, base_dir: Path) -> MappingFile:
    if isinstance(value, MappingFile):
        return value
    if not isinstance(value, str | Path) or not str(value).strip():
        raise PydanticCustomError("sql_mapping_file", "expected the path of a YAML file containing entities:")
    path = (base_dir / str(value).strip()).resolve()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PydanticCustomError("sql_mapping_file", f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise PydanticCustomError("sql_mapping_file", f"{path.name} is not valid YAML{line}") from None
    if not isinstance(document, dict) or not isinstance(document.get("entities"), dict):
        raise PydanticCustomError("sql_mapping_file", f"{path.name} must contain an entities: mapping")
    extra = sorted(set(document) - {"entities"})
    if extra:
        raise PydanticCustomError(
            "sql_mapping_file", f"{path.name} may only contain entities:, not {', '.join(map(str, extra))}"
        )
    return MappingFile(path, document["entities"])


def parse_entities(raw: Any, origin: str | None = None) -> dict[Entity, EntitySpec]:
    """Validate every entity spec; all problems are reported at ``<entity>.<section>.<name>``."""
    if isinstance(raw, dict) and raw and all(isinstance(spec, EntitySpec) for spec in raw.values()):
        return {Entity(name): spec for name, spec in raw.items()}
    if not isinstance(raw, dict) or not raw:
        raise PydanticCustomError("sql_entities", "map at least one canonical entity (e.g. customer:)")
    suffix = f" (in {origin})" if origin else ""
    problems: list[InitErrorDetails] = []
    specs: dict[Entity, EntitySpec] = {}
    known = ", ".join(entity.value for entity in Entity)
    for name, spec in raw.items():
        try:
            entity = Entity(name)
        except ValueError:
            problems.append(
                {
                    "type": PydanticCustomError(
                        "sql_mapping", f"unknown entity (expected one of: {known}){suffix}"
                    ),
                    "loc": (str(name),),
                    "input": name,
                }
            )
            continue
        try:
            specs[entity] = EntitySpec.model_validate(spec, context={"entity": entity})
        except ValidationError as exc:
            for error in exc.errors():
                problems.append(
                    {
                        "type": PydanticCustomError("sql_mapping", error["msg"] + suffix),
                        "loc": (entity.value, *error["loc"]),
                        "input": error.get("input"),
                    }
                )
    if problems:
        raise ValidationError.from_exception_data("entities", problems)
    return specs


class SQLConfig(BaseModel):
    """One SQL source. Validation normalises it so that ``model_dump()`` validates back to an equal config:
    ``url`` becomes absolute with its async driver, and a ``mapping:`` file is read into ``entities``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    url: str = Field(repr=False, min_length=1)
    password: SecretStr | None = None
    db_schema: str | None = Field(default=None, alias="schema", min_length=1)
    pool_size: int = Field(default=5, ge=1, le=100)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=300)
    query_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    #: Both SQLite (32766 host parameters) and PostgreSQL (32767) take a few thousand keys in one IN list,
    #: so a page of a customer 360 stays one query per level.
    batch_size: int = Field(default=5000, ge=1, le=30_000)
    page_size: int = Field(default=1000, ge=1, le=100_000)
    #: SQLite only: switch the database file to WAL so readers and the owning application's writers do not
    #: block each other (best effort: a write-protected file keeps its journal mode).
    sqlite_wal: bool = True
    #: SQLite only: a batch read of a few keys is first run on the event loop's thread and handed to the
    #: pool's thread if it takes longer than this (0: always the pool's thread; see inline_reads.py).
    sqlite_inline_budget_ms: float = Field(default=2.0, ge=0, le=50)
    entities: dict[Entity, EntitySpec]

    @model_validator(mode="before")
    @classmethod
    def _read_mapping_file(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or data.get("mapping") is None:
            if isinstance(data, dict) and "mapping" in data:
                data = {k: v for k, v in data.items() if k != "mapping"}
            return data
        data = dict(data)
        if data.get("entities"):
            raise _fail(("entities",), "set either entities: or mapping:, not both")
        try:
            mapping_file = _load_mapping_file(data.pop("mapping"), _base_dir(info))
        except PydanticCustomError as exc:
            raise _fail(("mapping",), exc.message()) from None
        try:
            data["entities"] = parse_entities(dict(mapping_file.entities), origin=mapping_file.path.name)
        except ValidationError as exc:
            problems: list[InitErrorDetails] = [
                {
                    "type": PydanticCustomError(error["type"], error["msg"]),
                    "loc": ("entities", *error["loc"]),
                    "input": error.get("input"),
                }
                for error in exc.errors()
            ]
            raise ValidationError.from_exception_data("SQLConfig", problems) from None
        return data

    @field_validator("url")
    @classmethod
    def _normalise_url(cls, value: str, info: ValidationInfo) -> str:
        return normalise_url(value, _base_dir(info)).render_as_string(hide_password=False)

    @field_validator("entities", mode="before")
    @classmethod
    def _parse_entities(cls, value: Any) -> Any:
        return parse_entities(value)

    @model_validator(mode="after")
    def _one_password(self) -> SQLConfig:
        if self.password is not None and make_url(self.url).password is not None:
            raise _fail(("password",), "the url already contains a password; keep it in one place")
        return self

    @property
    def engine_url(self) -> URL:
        """The URL to connect to, with ``password`` merged in."""
        url = make_url(self.url)
        return url if self.password is None else url.set(password=self.password.get_secret_value())

    @property
    def in_memory(self) -> bool:
        """A SQLite database that lives in its connection's memory (each connection has its own)."""
        url = self.engine_url
        memory = (url.database or "") in _MEMORY_DATABASES or url.query.get("mode") == "memory"
        return self.dialect == "sqlite" and memory

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine_url.get_backend_name()

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for logs and messages."""
        return self.engine_url.render_as_string(hide_password=True)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in an error message or log line."""
        password = self.engine_url.password
        return (str(password),) if password else ()


def sqlite_connect_url(url: URL) -> URL:
    """The aiosqlite URL of a file database, opened as a URI in ``mode=rw``: a missing file must fail
    (``unable to open database file``) instead of silently creating an empty database."""
    database = url.database or ""
    if database in _MEMORY_DATABASES:
        return url
    if database.startswith("file:"):
        return url.update_query_dict({"uri": "true"})
    return url.set(database=f"file:{quote(database)}").update_query_dict({"mode": "rw", "uri": "true"})
