"""The built-in adapter of the online-accounting API: customers, invoices and payments of one company.

The API is read through its SQL-like query endpoint (``/v3/company/{realm_id}/query``): scans page with
``STARTPOSITION``/``MAXRESULTS``, a batch of keys is one ``where Id in (...)`` query and the invoices or
payments of a batch of customers one ``where CustomerRef in (...)`` query per chunk. Authentication is an
OAuth 2 client-credentials token, cached and refreshed when it expires or is refused::

    sources:
      - name: accounting
        adapter: accounting
        config:
          base_url: https://quickbooks.api.intuit.com
          token_url: https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer   # default: on base_url
          realm_id: "9130350000000000"
          client_id: AB...
          client_secret: ...
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import Field, SecretStr, field_validator

from adapters.sdk import Entity, EntityMapping
from adapters.sdk.rest import (
    Endpoint,
    OAuth2ClientCredentials,
    OffsetPaginator,
    PageRequest,
    PageResponse,
    ParamBatch,
    RESTAdapter,
    RESTConfig,
    SinglePage,
)
from adapters.sdk.rest.adapter import check_base_url
from adapters.sdk.types import RawRecord

from .mappings import CUSTOMER, INVOICE, LINKED_INVOICES, PAYMENT

QUERY_PATH = "/v3/company/{realm_id}/query"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
#: The most records one query answers.
PAGE_SIZE = 1000
#: Values per ``in (...)`` list: keeps the query text (sent in the URL) well under common URL limits.
CHUNK_SIZE = 100
#: Quotes and backslashes inside a quoted literal of the query language.
QUERY_ESCAPE = {"\\": "\\\\", "'": "\\'"}

_TABLES = {Entity.CUSTOMER: "Customer", Entity.INVOICE: "Invoice", Entity.PAYMENT: "Payment"}


def _window() -> OffsetPaginator:
    return OffsetPaginator(
        limit=PAGE_SIZE,
        start=1,
        query_param="query",
        query_suffix=" STARTPOSITION {offset} MAXRESULTS {limit}",
    )


def _in_list(template: str, *, paginator: OffsetPaginator | SinglePage) -> ParamBatch:
    return ParamBatch(
        "query",
        chunk_size=CHUNK_SIZE,
        template=template,
        item_template="'{value}'",
        escape=QUERY_ESCAPE,
        paginator=paginator,
    )


def query_endpoint(entity: Entity, mapping: EntityMapping) -> Endpoint:
    table = _TABLES[entity]
    related = {}
    if "customer_external_id" in mapping.relations:
        # A chunk of customers may own more invoices than one answer holds: page through them.
        related["customer_external_id"] = _in_list(
            f"select * from {table} where CustomerRef in ({{items}}) ORDERBY Id", paginator=_window()
        )
    return Endpoint(
        path=QUERY_PATH,
        record_path=f"QueryResponse.{table}",
        empty_when_missing=True,  # an empty result is {"QueryResponse": {}}
        params={"query": f"select * from {table} ORDERBY Id"},
        paginator=_window(),
        mapping=mapping,
        # At most CHUNK_SIZE ids per query, so one answer always holds the whole chunk.
        get_many=_in_list(
            f"select * from {table} where Id in ({{items}}) MAXRESULTS {PAGE_SIZE}", paginator=SinglePage()
        ),
        related=related,
    )


class AccountingConfig(RESTConfig):
    """``base_url`` is the API root (the paths start with ``/v3/company``)."""

    realm_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")
    #: Kept secret too: with the secret it is the whole credential, and neither belongs in a log line.
    client_id: SecretStr = Field(min_length=1)
    client_secret: SecretStr
    #: The OAuth 2 token endpoint; by default ``/oauth2/v1/tokens/bearer`` on ``base_url``.
    token_url: str | None = None

    @field_validator("token_url")
    @classmethod
    def _absolute_token_url(cls, value: str | None) -> str | None:
        return None if value is None else check_base_url(value)


class AccountingAdapter(RESTAdapter[AccountingConfig]):
    name = "accounting"
    config_model = AccountingConfig
    check_path = f"{QUERY_PATH}?query=select count(*) from Customer"
    endpoints = {
        Entity.CUSTOMER: query_endpoint(Entity.CUSTOMER, CUSTOMER),
        Entity.INVOICE: query_endpoint(Entity.INVOICE, INVOICE),
        Entity.PAYMENT: query_endpoint(Entity.PAYMENT, PAYMENT),
    }

    def token_url(self) -> str:
        return self.config.token_url or self.config.base_url.rstrip("/") + TOKEN_PATH

    def build_auth(self) -> httpx.Auth:
        self.oauth = OAuth2ClientCredentials(
            token_url=self.token_url(),
            client_id=self.config.client_id.get_secret_value(),
            client_secret=self.config.client_secret,
            client_auth="basic",
        )
        return self.oauth

    def build_scan_request(self, entity: Entity, since: datetime | None = None) -> PageRequest:
        if since is None:
            return super().build_scan_request(entity)
        table = _TABLES[self.mapping_for(entity).entity]
        moment = (since if since.tzinfo else since.replace(tzinfo=UTC)).astimezone(UTC)
        query = (
            f"select * from {table} where MetaData.LastUpdatedTime > "
            f"'{moment.isoformat(timespec='seconds')}' ORDERBY Id"
        )
        return PageRequest(self.render_path(QUERY_PATH), {"query": query})

    def extract_records(self, entity: Entity, response: PageResponse) -> list[RawRecord]:
        records = super().extract_records(entity, response)
        if entity is not Entity.PAYMENT:
            return records
        return [{**record, LINKED_INVOICES: linked_invoices(record)} for record in records]


def linked_invoices(payment: Mapping[str, Any]) -> list[str]:
    """Ids of the invoices a payment's lines settle, in order, each once."""
    found: list[str] = []
    lines = payment.get("Line")
    for line in lines if isinstance(lines, list) else []:
        linked = line.get("LinkedTxn") if isinstance(line, Mapping) else None
        for txn in linked if isinstance(linked, list) else []:
            if isinstance(txn, Mapping) and txn.get("TxnType") == "Invoice" and txn.get("TxnId") is not None:
                found.append(str(txn["TxnId"]))
    return list(dict.fromkeys(found))
