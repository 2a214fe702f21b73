"""The identity map: which silo records describe the same customer."""

from .ids import hub_customer_id
from .seed import SeedReport, seed_identity_map

__all__ = ["SeedReport", "hub_customer_id", "seed_identity_map"]
