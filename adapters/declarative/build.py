"""Turns a validated manifest into the REST toolkit's objects: endpoints, paginators, an authenticator."""

from __future__ import annotations

import importlib
from typing import Any

import httpx
from pydantic import SecretStr

from adapters.sdk import Entity, EntityMapping
from adapters.sdk.rest import (
    ApiKeyAuth,
    BasicAuth,
    BearerTokenAuth,
    CursorPaginator,
    Endpoint,
    LinkHeaderPaginator,
    OAuth2ClientCredentials,
    OffsetPaginator,
    PageNumberPaginator,
    Paginator,
    ParamBatch,
    SessionLoginAuth,
    SinglePage,
)

from .manifest import (
    ApiKeySpec,
    AuthSpec,
    BasicSpec,
    BearerSpec,
    CursorSpec,
    CustomSpec,
    EndpointSpec,
    LinkHeaderSpec,
    LookupSpec,
    Manifest,
    ManifestSource,
    OAuth2Spec,
    OffsetSpec,
    PageNumberSpec,
    PaginatorSpec,
    SessionLoginSpec,
    SinglePageSpec,
)


def _custom(source: ManifestSource, spec: CustomSpec, base: type, loc: tuple[str | int, ...]) -> Any:
    """Import ``module:Class``, check it is a ``base``, and build it with the spec's options."""
    module_name, _, qualname = spec.class_.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for attribute in qualname.split("."):
            target = getattr(target, attribute)
    except (ImportError, AttributeError) as exc:
        raise source.error(
            f"cannot import {spec.class_!r}: {type(exc).__name__}: {exc}", (*loc, "class")
        ) from None
    if not (isinstance(target, type) and issubclass(target, base)):
        raise source.error(f"{spec.class_!r} is not a {base.__module__}.{base.__qualname__}", (*loc, "class"))
    try:
        return target(**spec.options)
    except (TypeError, ValueError) as exc:
        raise source.error(f"{spec.class_!r} rejected its options: {exc}", (*loc, "options")) from None


def build_paginator(
    source: ManifestSource, spec: PaginatorSpec | None, loc: tuple[str | int, ...]
) -> Paginator:
    with source.at(*loc):
        if spec is None or isinstance(spec, SinglePageSpec):
            return SinglePage()
        if isinstance(spec, CursorSpec):
            return CursorPaginator(**spec.model_dump(exclude={"type"}))
        if isinstance(spec, OffsetSpec):
            return OffsetPaginator(**spec.model_dump(exclude={"type"}))
        if isinstance(spec, PageNumberSpec):
            return PageNumberPaginator(**spec.model_dump(exclude={"type"}))
        if isinstance(spec, LinkHeaderSpec):
            return LinkHeaderPaginator(**spec.model_dump(exclude={"type"}))
    paginator: Paginator = _custom(source, spec, Paginator, loc)
    return paginator


def build_auth(source: ManifestSource, spec: AuthSpec | None, base_url: str) -> httpx.Auth | None:
    with source.at("auth"):
        if spec is None:
            return None
        if isinstance(spec, BearerSpec):
            return BearerTokenAuth(spec.token, scheme=spec.scheme)
        if isinstance(spec, BasicSpec):
            return BasicAuth(spec.username, spec.password)
        if isinstance(spec, ApiKeySpec):
            return ApiKeyAuth(spec.key, name=spec.name, location=spec.location, prefix=spec.prefix)
        if isinstance(spec, OAuth2Spec):
            # A relative token URL lives on the API's own host.
            token_url = str(httpx.URL(base_url.rstrip("/") + "/").join(spec.token_url))
            return OAuth2ClientCredentials(
                token_url=token_url,
                client_id=spec.client_id,
                client_secret=spec.client_secret,
                scopes=spec.scopes,
                audience=spec.audience,
                extra_params=spec.extra_params,
                client_auth=spec.client_auth,
                expiry_margin_seconds=spec.expiry_margin_seconds,
            )
        if isinstance(spec, SessionLoginSpec):
            return SessionLoginAuth(
                login_url=str(httpx.URL(base_url.rstrip("/") + "/").join(spec.login_url)),
                body=_hidden(spec.body),
                error_field=spec.error_field,
                expired_statuses=tuple(spec.expired_statuses),
            )
    auth: httpx.Auth = _custom(source, spec, httpx.Auth, ("auth",))
    return auth


def _hidden(value: Any) -> Any:
    """Every text in ``value`` as a ``SecretStr``: most fields of a login body are credentials."""
    if isinstance(value, str):
        return SecretStr(value)
    if isinstance(value, dict):
        return {key: _hidden(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_hidden(item) for item in value]
    return value


def _lookup(source: ManifestSource, spec: LookupSpec | None, loc: tuple[str | int, ...]) -> ParamBatch | None:
    if spec is None:
        return None
    paginator = build_paginator(source, spec.paginator, (*loc, "paginator")) if spec.paginator else None
    with source.at(*loc):
        return ParamBatch(**spec.model_dump(exclude={"paginator"}), paginator=paginator)


def build_endpoint(source: ManifestSource, entity: Entity, spec: EndpointSpec) -> Endpoint:
    loc: tuple[str | int, ...] = ("endpoints", entity.value)
    for by_field in spec.related:
        if by_field not in spec.fields:
            raise source.error(
                f"{by_field!r} must also be mapped under fields to be looked up by",
                (*loc, "related", by_field),
            )
    with source.at(*loc, "fields"):
        mapping = EntityMapping(entity, spec.fields, frozenset(spec.related), spec.constants)
    related = {
        name: _lookup(source, lookup, (*loc, "related", name)) for name, lookup in spec.related.items()
    }
    with source.at(*loc):
        return Endpoint(
            path=spec.path,
            mapping=mapping,
            record_path=spec.record_path,
            paginator=build_paginator(source, spec.paginator, (*loc, "paginator")),
            params=spec.params,
            get_many=_lookup(source, spec.get_many, (*loc, "get_many")),
            related={name: lookup for name, lookup in related.items() if lookup is not None},
            since_param=spec.since_param,
            empty_when_missing=spec.empty_when_missing,
            max_pages=spec.max_pages,
        )


def build_endpoints(source: ManifestSource, manifest: Manifest) -> dict[Entity, Endpoint]:
    return {entity: build_endpoint(source, entity, spec) for entity, spec in manifest.endpoints.items()}
