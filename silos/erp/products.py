"""The ERP's product catalogue: a fixed number of items built from category templates.

The catalogue does not depend on the number of companies, so order lines reference the same products in a
size-100 and a size-100000 database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from .reference import PRICE_LIST_CURRENCY


@dataclass(frozen=True, slots=True)
class _Category:
    name: str
    sku_prefix: str
    #: Price range of one unit in euro cents.
    min_cents: int
    max_cents: int
    items: tuple[str, ...]
    variants: tuple[str, ...]


# fmt: off
_CATEGORIES: tuple[_Category, ...] = (
    _Category("Fasteners", "FAS", 250, 9_000,
              ("Hex bolt", "Socket cap screw", "Threaded rod", "Wing nut", "Flange nut", "Spring washer"),
              ("M6, box of 100", "M8, box of 100", "M10, box of 50", "M12, box of 50", "M16, box of 25",
               "A2 stainless, box of 100")),
    _Category("Hydraulics", "HYD", 2_500, 180_000,
              ("Gear pump", "Hydraulic hose", "Directional valve", "Pressure gauge", "Hydraulic cylinder",
               "Filter element"),
              ("1/4 in", "1/2 in", "3/4 in", "250 bar", "350 bar", "heavy duty")),
    _Category("Electrical", "ELC", 300, 45_000,
              ("Circuit breaker", "Contactor", "Installation cable", "Terminal block", "Motor starter",
               "Control relay"),
              ("C16", "C32", "3P 25A", "3x1.5 mm², 100 m", "5x2.5 mm², 50 m", "24 V DC")),
    _Category("Pneumatics", "PNE", 900, 60_000,
              ("Pneumatic cylinder", "Solenoid valve", "Air preparation unit", "Push-in fitting",
               "Polyurethane tubing"),
              ("D32 x 100", "D50 x 200", "G1/4", "8 mm, pack of 10", "6 mm, 50 m")),
    _Category("Safety", "SAF", 150, 25_000,
              ("Safety gloves", "Safety helmet", "Ear defenders", "Safety goggles", "Hi-vis vest",
               "Safety shoes"),
              ("size 8", "size 10", "EN 397", "class 2", "S3", "pack of 12")),
    _Category("Tools", "TLS", 1_200, 95_000,
              ("Cordless drill", "Torque wrench", "Angle grinder", "Socket set", "Impact driver",
               "Digital multimeter"),
              ("18 V", "12 V", "1/2 in, 40-200 Nm", "125 mm", "94 pieces", "CAT III")),
    _Category("Packaging", "PKG", 80, 6_000,
              ("Stretch film", "Cardboard box", "Packing tape", "Bubble wrap", "Pallet strap",
               "Edge protector"),
              ("500 mm x 300 m", "600 x 400 x 400", "50 mm x 66 m", "1 m x 50 m", "12 mm x 1000 m",
               "pack of 100")),
    _Category("Services", "SRV", 6_000, 120_000,
              ("Installation service", "Preventive maintenance", "On-site training", "Calibration service",
               "Emergency call-out"),
              ("per hour", "per visit", "per day", "per device", "annual contract")),
)
# fmt: on

#: Catalogue sizes the generator accepts.
MIN_PRODUCTS = 10
MAX_PRODUCTS = 300


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    id: int
    sku: str
    name: str
    category: str
    unit_price_cents: int
    discontinued: bool

    def row(self) -> dict[str, object]:
        return {
            "id": self.id,
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "unit_price": Decimal(self.unit_price_cents).scaleb(-2),
            "currency": PRICE_LIST_CURRENCY,
            "discontinued": self.discontinued,
        }


def build_catalogue(rng: random.Random, count: int) -> tuple[CatalogueItem, ...]:
    """``count`` distinct products, spread evenly over the categories."""
    if not MIN_PRODUCTS <= count <= MAX_PRODUCTS:
        raise ValueError(f"products must be between {MIN_PRODUCTS} and {MAX_PRODUCTS}, got {count}")
    candidates: list[list[tuple[_Category, str]]] = []
    for category in _CATEGORIES:
        names = [(category, f"{item}, {variant}") for item in category.items for variant in category.variants]
        rng.shuffle(names)
        candidates.append(names)
    items: list[CatalogueItem] = []
    round_no = 0
    while len(items) < count:
        for names in candidates:
            if round_no < len(names) and len(items) < count:
                category, name = names[round_no]
                cents = rng.randrange(category.min_cents, category.max_cents)
                # Price lists end in .00, .50, .90 or .99 like real ones do.
                cents = cents - cents % 100 + (0, 50, 90, 99)[rng.randrange(4)]
                items.append(
                    CatalogueItem(
                        id=len(items) + 1,
                        sku=f"{category.sku_prefix}-{10_000 + len(items) * 7 + rng.randrange(7)}",
                        name=name,
                        category=category.name,
                        unit_price_cents=cents,
                        discontinued=rng.random() < 0.08,
                    )
                )
        round_no += 1
    return tuple(items)
