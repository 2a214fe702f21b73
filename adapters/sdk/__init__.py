"""crmhub adapter SDK: everything an adapter author imports.

A minimal adapter::

    from pydantic import BaseModel
    from adapters.sdk import Adapter, Entity, EntityMapping, Health

    class CsvConfig(BaseModel):
        path: str

    class CsvAdapter(Adapter[CsvConfig]):
        name = "csv"
        config_model = CsvConfig

        @property
        def mappings(self):
            return {Entity.CUSTOMER: EntityMapping(Entity.CUSTOMER, {"external_id": "id", "name": "name"})}

        async def get_many(self, entity, keys): ...
        async def find_related(self, entity, by_field, values): ...
        async def scan(self, entity, since=None): ...
        async def check(self): return Health(ok=True, latency_ms=0.0)

and in the package's ``pyproject.toml``::

    [project.entry-points."crmhub.adapters"]
    csv = "my_package:CsvAdapter"
"""

from __future__ import annotations

from .adapter import Adapter
from .aggregate import Aggregate, AggregateValue, Measure, MeasureKind
from .errors import (
    AdapterConfigError,
    AdapterError,
    MalformedResponseError,
    RecordValidationError,
    UnsupportedEntityError,
    UpstreamAuthError,
    UpstreamRateLimitedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from .health import Health
from .mapping import EntityMapping, read_path
from .models import (
    MODELS,
    Address,
    CampaignActivity,
    CanonicalRecord,
    Contact,
    CreditTerms,
    CustomerRecord,
    Entity,
    Invoice,
    MarketingMember,
    Order,
    OrderLine,
    Payment,
    Product,
    Ticket,
)
from .registry import ENTRY_POINT_GROUP, AdapterRegistry

__all__ = [
    "ENTRY_POINT_GROUP",
    "MODELS",
    "Adapter",
    "AdapterConfigError",
    "AdapterError",
    "AdapterRegistry",
    "Address",
    "Aggregate",
    "AggregateValue",
    "CampaignActivity",
    "CanonicalRecord",
    "Contact",
    "CreditTerms",
    "CustomerRecord",
    "Entity",
    "EntityMapping",
    "Health",
    "Invoice",
    "MalformedResponseError",
    "MarketingMember",
    "Measure",
    "MeasureKind",
    "Order",
    "OrderLine",
    "Payment",
    "Product",
    "RecordValidationError",
    "Ticket",
    "UnsupportedEntityError",
    "UpstreamAuthError",
    "UpstreamRateLimitedError",
    "UpstreamTimeoutError",
    "UpstreamUnavailableError",
    "read_path",
]
