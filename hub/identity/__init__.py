"""Identity resolution: which silo records describe the same customer, and why.

``run_identity_resolution`` reads the sources, matches records with the declared rules and keeps the identity
map (hub customers and their links) up to date; ``merge_customers`` / ``split_customer`` record admins'
decisions that every later run respects. Heavy modules load on first use, so ``hub.config`` can import
``hub.identity.settings`` without an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .ids import hub_customer_id

if TYPE_CHECKING:
    from .decisions import merge_customers, split_customer
    from .run import IdentityRunReport, run_identity_resolution
    from .seed import SeedReport, seed_identity_map

_LAZY = {
    "IdentityRunReport": "run",
    "run_identity_resolution": "run",
    "SeedReport": "seed",
    "seed_identity_map": "seed",
    "merge_customers": "decisions",
    "split_customer": "decisions",
}

__all__ = [
    "IdentityRunReport",
    "SeedReport",
    "hub_customer_id",
    "merge_customers",
    "run_identity_resolution",
    "seed_identity_map",
    "split_customer",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
