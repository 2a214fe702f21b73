"""The REST toolkit: build an adapter for a JSON-over-HTTP upstream mostly from declarations.

A connector declares, per canonical entity, an ``Endpoint``: its path, where the records sit in the
answer, its paginator, its mapping, and how to read a batch of keys or related values in one request per
chunk. ``RESTAdapter`` does the rest: a pooled HTTP client, authentication, 429 handling and the
translation of every failure into the SDK's typed errors::

    class DeskConfig(RESTConfig):
        token: SecretStr

    class DeskAdapter(RESTAdapter[DeskConfig]):
        name = "desk"
        config_model = DeskConfig
        endpoints = {
            Entity.CUSTOMER: Endpoint(
                path="/api/v2/organizations",
                record_path="organizations",
                paginator=CursorPaginator("links.next", has_more_path="meta.has_more",
                                          page_size=100, page_size_param="page[size]"),
                mapping=EntityMapping(Entity.CUSTOMER, {"external_id": "id", "name": "name"}),
                get_many=ParamBatch("ids", path="/api/v2/organizations/show_many"),
            ),
        }

        def build_auth(self) -> httpx.Auth:
            return BearerTokenAuth(self.config.token)
"""

from __future__ import annotations

from .adapter import HttpSettings, RESTAdapter, RESTConfig
from .auth import ApiKeyAuth, BasicAuth, BearerTokenAuth, OAuth2ClientCredentials
from .endpoint import BatchLookup, Endpoint, ParamBatch
from .exchange import FixedHeadersAuth
from .http import PageRequest, PageResponse, RetryPolicy, UpstreamClient, parse_retry_after, redact_url
from .paginators import (
    CursorPaginator,
    LinkHeaderPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    Paginator,
    SinglePage,
    next_link,
    parse_link_header,
    read_json,
)
from .session_auth import SessionLoginAuth

__all__ = [
    "ApiKeyAuth",
    "BasicAuth",
    "BatchLookup",
    "BearerTokenAuth",
    "CursorPaginator",
    "Endpoint",
    "FixedHeadersAuth",
    "HttpSettings",
    "LinkHeaderPaginator",
    "OAuth2ClientCredentials",
    "OffsetPaginator",
    "PageNumberPaginator",
    "PageRequest",
    "PageResponse",
    "Paginator",
    "ParamBatch",
    "RESTAdapter",
    "RESTConfig",
    "RetryPolicy",
    "SessionLoginAuth",
    "SinglePage",
    "UpstreamClient",
    "next_link",
    "parse_link_header",
    "parse_retry_after",
    "read_json",
    "redact_url",
]
