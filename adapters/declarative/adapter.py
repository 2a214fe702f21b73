"""``DeclarativeAdapter``: a REST source described by a YAML manifest instead of Python code.

In ``crmhub.yaml``::

    sources:
      - name: helpdesk
        adapter: declarative
        config:
          manifest: helpdesk.yaml          # relative to crmhub.yaml, or the manifest itself inline
          base_url: https://desk.example.com   # optional, overrides the manifest's
          secrets: {api_token: "..."}      # referenced in the manifest as ${secrets.api_token}
          params: {realm_id: "9130"}       # referenced as ${params.realm_id} or {realm_id} in paths
          http: {timeout_seconds: 5}       # optional, overrides the manifest's http settings
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator

from adapters.sdk import AdapterConfigError
from adapters.sdk.rest import HttpSettings, RESTAdapter
from adapters.sdk.rest.adapter import check_base_url

from .build import build_auth, build_endpoints
from .manifest import ManifestError, interpolate, read_manifest, validate_manifest

Scalar = str | int | float | bool


class DeclarativeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manifest: str | dict[str, Any]
    base_url: str | None = None
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    params: dict[str, Scalar] = Field(default_factory=dict)
    http: dict[str, Any] = Field(default_factory=dict)

    @field_validator("manifest")
    @classmethod
    def _resolve(cls, value: str | dict[str, Any], info: ValidationInfo) -> str | dict[str, Any]:
        if isinstance(value, dict):
            return value
        if not value.strip():
            raise ValueError("must name a manifest file or hold the manifest itself")
        base_dir = (info.context or {}).get("base_dir")
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        return str(path.resolve())

    @field_validator("base_url")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return None if value is None else check_base_url(value)

    @field_validator("http")
    @classmethod
    def _known_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            HttpSettings.model_validate(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ValueError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
        return value  # only the keys given, so they override the manifest and nothing else


class DeclarativeAdapter(RESTAdapter[DeclarativeConfig]):
    """A ``RESTAdapter`` whose endpoints, paginators and authenticator come from a manifest."""

    name = "declarative"
    config_model = DeclarativeConfig

    def __init__(
        self, *, source: str, config: DeclarativeConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        try:
            parsed = read_manifest(config.manifest)
            manifest = validate_manifest(parsed, interpolate(parsed, config.params, config.secrets))
            base_url = config.base_url or manifest.base_url
            if base_url is None:
                raise ManifestError(
                    "base_url: set it in the manifest or in the source config", file=parsed.label
                )
            self.manifest = manifest
            self.endpoints = build_endpoints(parsed, manifest)
            self.check_path = manifest.check_path
            self._base_url = base_url
            self._http = HttpSettings.model_validate({**manifest.http.model_dump(), **config.http})
            self._auth = build_auth(parsed, manifest.auth, base_url)
        except AdapterConfigError as exc:
            exc.source = source
            raise
        super().__init__(source=source, config=config, transport=transport)

    def base_url(self) -> str:
        return self._base_url

    def http_settings(self) -> HttpSettings:
        return self._http

    def build_auth(self) -> httpx.Auth | None:
        return self._auth

    def path_values(self) -> Mapping[str, Any]:
        return self.config.params
