"""The manifest of a declarative REST source: its schema, and loading it with errors that point at the
file, the YAML path and the line of the bad field.

A manifest may refer to configured values as ``${params.NAME}`` (anywhere) and ``${secrets.NAME}``
(only under ``auth`` and ``http.headers``, so a secret never ends up in a URL or a log line); endpoint
paths may also use ``{NAME}`` placeholders, filled from ``params``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from adapters.sdk import AdapterConfigError, Entity
from adapters.sdk.rest.adapter import HttpSettings, check_base_url

SUPPORTED_VERSIONS = (1,)

Loc = tuple[str | int, ...]


class ManifestError(AdapterConfigError):
    """A manifest that cannot be loaded; names the file, the YAML path and, when known, the line."""

    def __init__(
        self, message: str, *, file: str, path: str = "", line: int | None = None, source: str | None = None
    ) -> None:
        where = f"manifest {file}"
        if path:
            where += f": {path}"
        if line is not None:
            where += f" (line {line})"
        super().__init__(f"{where}: {message}", source=source)
        self.file = file
        self.yaml_path = path
        self.line = line


# -- schema -------------------------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CustomSpec(_Spec):
    """The escape hatch: a Python class named ``module:Class``, built with ``options`` as keywords."""

    type: Literal["custom"]
    class_: str = Field(alias="class", pattern=r"^[\w.]+:[\w.]+$")
    options: dict[str, Any] = Field(default_factory=dict)


class CursorSpec(_Spec):
    type: Literal["cursor"]
    cursor_path: str
    cursor_param: str | None = None
    has_more_path: str | None = None
    page_size: int | None = Field(None, ge=1)
    page_size_param: str | None = None


class OffsetSpec(_Spec):
    type: Literal["offset"]
    limit: int = Field(100, ge=1)
    offset_param: str = "offset"
    limit_param: str = "limit"
    start: int = Field(0, ge=0)
    total_path: str | None = None
    query_param: str | None = None
    query_suffix: str | None = None


class PageNumberSpec(_Spec):
    type: Literal["page_number"]
    page_param: str = "page"
    page_size_param: str | None = "per_page"
    page_size: int = Field(100, ge=1)
    start_page: int = Field(1, ge=0)
    total_pages_path: str | None = None


class LinkHeaderSpec(_Spec):
    type: Literal["link_header"]
    page_size: int | None = Field(None, ge=1)
    page_size_param: str | None = None


class SinglePageSpec(_Spec):
    type: Literal["single"]


PaginatorSpec = Annotated[
    CursorSpec | OffsetSpec | PageNumberSpec | LinkHeaderSpec | SinglePageSpec | CustomSpec,
    Field(discriminator="type"),
]


class BearerSpec(_Spec):
    type: Literal["bearer"]
    token: SecretStr
    scheme: str = "Bearer"


class BasicSpec(_Spec):
    type: Literal["basic"]
    username: str
    password: SecretStr


class ApiKeySpec(_Spec):
    type: Literal["api_key"]
    key: SecretStr
    name: str = "X-API-Key"
    location: Literal["header", "query"] = "header"
    prefix: str | None = None


class OAuth2Spec(_Spec):
    type: Literal["oauth2_client_credentials"]
    token_url: str
    client_id: str
    client_secret: SecretStr
    scopes: list[str] = Field(default_factory=list)
    audience: str | None = None
    client_auth: Literal["body", "basic"] = "body"
    extra_params: dict[str, str] = Field(default_factory=dict)
    expiry_margin_seconds: float = Field(30.0, ge=0)


class SessionLoginSpec(_Spec):
    """Session-cookie login (``SessionLoginAuth``): ``body`` is POSTed as JSON to ``login_url``."""

    type: Literal["session_login"]
    login_url: str
    # It holds the credentials: kept out of reprs and error messages.
    body: dict[str, Any] = Field(repr=False)
    error_field: str | None = None
    expired_statuses: list[Annotated[int, Field(ge=400, le=599)]] = Field(
        default_factory=lambda: [401], min_length=1
    )


AuthSpec = Annotated[
    BearerSpec | BasicSpec | ApiKeySpec | OAuth2Spec | SessionLoginSpec | CustomSpec,
    Field(discriminator="type"),
]


class LookupSpec(_Spec):
    """A batch lookup (``ParamBatch``): the values of one chunk travel in ``param``."""

    param: str
    chunk_size: int = Field(100, ge=1)
    separator: str = ","
    item_template: str = "{value}"
    template: str = "{items}"
    escape: dict[str, str] = Field(default_factory=dict)
    repeat: bool = False
    path: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    paginator: PaginatorSpec | None = None
    #: Where the records sit in the lookup's answer, when not where the endpoint's listing has them.
    record_path: str | None = None
    #: A regular expression every key or value must match to be sent (others cannot exist upstream).
    value_pattern: str | None = None

    @field_validator("value_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"is not a regular expression: {exc}") from None
        return value

    @field_validator("template")
    @classmethod
    def _has_items(cls, value: str) -> str:
        if "{items}" not in value:
            raise ValueError("must contain {items}, where the chunk's values go")
        return value

    @field_validator("item_template")
    @classmethod
    def _has_value(cls, value: str) -> str:
        if "{value}" not in value:
            raise ValueError("must contain {value}")
        return value


class EndpointSpec(_Spec):
    path: str
    record_path: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    paginator: PaginatorSpec | None = None
    fields: dict[str, str]
    constants: dict[str, Any] = Field(default_factory=dict)
    get_many: LookupSpec | None = None
    related: dict[str, LookupSpec] = Field(default_factory=dict)
    since_param: str | None = None
    empty_when_missing: bool = False
    max_pages: int | None = Field(None, ge=1)


class Manifest(_Spec):
    version: int = 1
    name: str | None = None
    description: str | None = None
    base_url: str | None = None
    auth: AuthSpec | None = None
    http: HttpSettings = Field(default_factory=HttpSettings)
    check_path: str | None = None
    endpoints: dict[Entity, EndpointSpec] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value not in SUPPORTED_VERSIONS:
            raise ValueError(f"version {value} is not supported (supported: {list(SUPPORTED_VERSIONS)})")
        return value

    @field_validator("base_url")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return None if value is None else check_base_url(value)


# -- loading ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestSource:
    """A parsed (not yet validated) manifest, and what is needed to point at its lines."""

    label: str
    data: dict[str, Any]
    root: yaml.Node | None = None

    def yaml_path(self, loc: Loc) -> tuple[str, int | None]:
        """The YAML path and line of a validation ``loc``, skipping pydantic's union tags."""
        parts: list[str] = []
        raw: Any = self.data
        node = self.root
        line = None
        for step in loc:
            if isinstance(raw, Mapping) and step in raw:
                raw = raw[step]
                key_node, node = _child(node, step)
                # A key's own line reads best, even when its value is a block starting below it.
                line = key_node.start_mark.line + 1 if key_node is not None else None
            elif isinstance(raw, list) and isinstance(step, int) and 0 <= step < len(raw):
                raw = raw[step]
                node = node.value[step] if isinstance(node, yaml.SequenceNode) else None
                line = node.start_mark.line + 1 if node is not None else None
            elif step == "[key]" or (isinstance(raw, Mapping) and raw.get("type") == step):
                continue  # pydantic's markers: a bad mapping key, the tag of a tagged union
            else:
                raw, node = None, None  # a missing key or pydantic's own marker: show it, stop walking
            parts.append(f"[{step}]" if isinstance(step, int) else str(step))
        return ".".join(parts).replace(".[", "["), line

    def error(self, message: str, loc: Loc = ()) -> ManifestError:
        path, line = self.yaml_path(loc)
        return ManifestError(message, file=self.label, path=path, line=line)

    @contextmanager
    def at(self, *loc: str | int) -> Iterator[None]:
        """Report a ValueError or TypeError raised while building the part at ``loc`` as a ManifestError."""
        try:
            yield
        except ManifestError:
            raise
        except (ValueError, TypeError) as exc:
            raise self.error(str(exc), loc) from None


def _child(node: yaml.Node | None, key: str | int) -> tuple[yaml.Node | None, yaml.Node | None]:
    """The key and value nodes of ``key`` in a mapping node."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(key):
                return key_node, value_node
    return None, None


def read_manifest(manifest: str | Path | Mapping[str, Any]) -> ManifestSource:
    """Parse a manifest file (or take an inline mapping); raises ``ManifestError`` naming the file."""
    if isinstance(manifest, Mapping):
        return ManifestSource("<inline>", dict(manifest))
    path = Path(manifest)
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError("the file does not exist", file=label) from None
    except OSError as exc:
        raise ManifestError(f"cannot be read ({exc.strerror or type(exc).__name__})", file=label) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ManifestError(
            f"is not valid YAML: {exc.problem or exc.context}", file=label, line=line
        ) from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"is not valid YAML: {exc}", file=label) from None
    if not isinstance(data, dict):
        raise ManifestError("must be a mapping with base_url, auth and endpoints", file=label)
    return ManifestSource(label, data, root)


_REFERENCE = re.compile(r"\$\{(params|secrets)\.([A-Za-z_][\w-]*)\}")


def interpolate(
    source: ManifestSource, params: Mapping[str, Any], secrets: Mapping[str, SecretStr]
) -> dict[str, Any]:
    """The manifest data with ``${params.X}`` and ``${secrets.X}`` replaced by configured values."""

    def walk(value: Any, loc: Loc, secrets_allowed: bool) -> Any:
        if isinstance(value, dict):
            return {
                key: walk(item, (*loc, key), secrets_allowed or _may_hold_secrets((*loc, key)))
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [walk(item, (*loc, index), secrets_allowed) for index, item in enumerate(value)]
        if not isinstance(value, str) or "${" not in value:
            return value

        def replace(match: re.Match[str]) -> str:
            kind, name = match.group(1), match.group(2)
            if kind == "secrets":
                if not secrets_allowed:
                    raise source.error(
                        f"${{secrets.{name}}} may only be used under auth or http.headers", loc
                    )
                if name not in secrets:
                    known = ", ".join(sorted(secrets)) or "none"
                    raise source.error(
                        f"secret {name!r} is not configured (configured secrets: {known})", loc
                    )
                return secrets[name].get_secret_value()
            if name not in params:
                known = ", ".join(sorted(params)) or "none"
                raise source.error(f"param {name!r} is not configured (configured params: {known})", loc)
            return str(params[name])

        return _REFERENCE.sub(replace, value)

    result: dict[str, Any] = walk(source.data, (), False)
    return result


def _may_hold_secrets(loc: Loc) -> bool:
    return loc[:1] == ("auth",) or loc[:2] == ("http", "headers")


def validate_manifest(source: ManifestSource, data: Mapping[str, Any]) -> Manifest:
    try:
        return Manifest.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise source.error(first["msg"], tuple(first["loc"])) from None
