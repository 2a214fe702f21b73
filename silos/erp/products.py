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
    #: Each item with the variants it is sold in.
    items: tuple[tuple[str, tuple[str, ...]], ...]


# fmt: off
_CATEGORIES: tuple[_Category, ...] = (
    _Category("Fasteners", "FAS", 250, 9_000, (
        ("Hex bolt", ("M6x30, box of 100", "M8x40, box of 100", "M10x50, box of 50", "M12x60, box of 50")),
        ("Socket cap screw", ("M5x20, box of 200", "M6x25, box of 100", "M8x30, box of 100")),
        ("Threaded rod", ("M8, 1 m", "M10, 1 m", "M12, 1 m", "M16, 2 m")),
        ("Flange nut", ("M6, box of 200", "M8, box of 200", "M10, box of 100")),
        ("Spring washer", ("M8, box of 500", "M10, box of 500", "A2 stainless, box of 250")),
        ("Wall anchor", ("6 mm, box of 100", "8 mm, box of 100", "10 mm, box of 50")),
    )),
    _Category("Hydraulics", "HYD", 2_500, 180_000, (
        ("Gear pump", ("8 cc/rev", "16 cc/rev", "25 cc/rev")),
        ("Hydraulic hose", ("1/4 in, 2SN", "1/2 in, 2SN", "3/4 in, 4SP", "1 in, 4SH")),
        ("Directional valve", ("NG6, 24 V DC", "NG10, 24 V DC", "NG6, 230 V AC")),
        ("Pressure gauge", ("0-250 bar", "0-400 bar", "0-60 bar, glycerine filled")),
        ("Hydraulic cylinder", ("40/25 x 200", "63/36 x 300", "80/45 x 500")),
        ("Return filter element", ("10 micron", "25 micron")),
    )),
    _Category("Electrical", "ELC", 300, 45_000, (
        ("Circuit breaker", ("1P C16", "1P B10", "3P C32", "3P C63")),
        ("Contactor", ("3P 9A, 24 V DC", "3P 25A, 230 V AC", "3P 65A, 230 V AC")),
        ("Installation cable", ("3x1.5 mm², 100 m", "5x2.5 mm², 50 m", "3x2.5 mm², 100 m")),
        ("DIN rail terminal block", ("2.5 mm², pack of 50", "4 mm², pack of 50", "10 mm², pack of 20")),
        ("Motor protection switch", ("1-1.6 A", "4-6.3 A", "9-14 A")),
        ("Control relay", ("24 V DC, 2 CO", "230 V AC, 4 CO")),
    )),
    _Category("Pneumatics", "PNE", 900, 60_000, (
        ("Pneumatic cylinder", ("D32 x 100", "D50 x 200", "D63 x 320")),
        ("Solenoid valve", ("5/2, G1/8", "5/2, G1/4", "5/3, G1/4")),
        ("Air preparation unit", ("G1/4", "G1/2")),
        ("Push-in fitting", ("6 mm, pack of 10", "8 mm, pack of 10", "10 mm, pack of 10")),
        ("Polyurethane tubing", ("6 mm, 50 m", "8 mm, 50 m", "10 mm, 25 m")),
    )),
    _Category("Safety", "SAF", 150, 25_000, (
        ("Cut-resistant gloves", ("size 8, 12 pairs", "size 9, 12 pairs", "size 10, 12 pairs")),
        ("Safety helmet", ("EN 397, white", "EN 397, yellow", "EN 397, with visor")),
        ("Ear defenders", ("SNR 30 dB", "SNR 35 dB")),
        ("Safety goggles", ("clear, pack of 10", "tinted, pack of 10")),
        ("Hi-vis vest", ("class 2, size L", "class 2, size XL")),
        ("Safety shoes", ("S3, size 42", "S3, size 44", "S1P, size 43")),
    )),
    _Category("Tools", "TLS", 1_200, 95_000, (
        ("Cordless drill", ("18 V, 2 batteries", "12 V, 2 batteries", "18 V, body only")),
        ("Torque wrench", ("1/4 in, 5-25 Nm", "1/2 in, 40-200 Nm", "3/4 in, 100-500 Nm")),
        ("Angle grinder", ("125 mm, 1200 W", "230 mm, 2200 W")),
        ("Socket set", ("1/4 in, 46 pieces", "1/2 in, 94 pieces")),
        ("Impact driver", ("18 V, 180 Nm", "12 V, 110 Nm")),
        ("Digital multimeter", ("CAT III 600 V", "CAT IV 1000 V")),
    )),
    _Category("Packaging", "PKG", 80, 6_000, (
        ("Stretch film", ("500 mm x 300 m, 23 my", "500 mm x 250 m, 17 my")),
        ("Cardboard box", ("300 x 200 x 150, pack of 25", "600 x 400 x 400, pack of 10")),
        ("Packing tape", ("50 mm x 66 m, brown", "50 mm x 66 m, clear")),
        ("Bubble wrap", ("0.5 m x 100 m", "1 m x 50 m")),
        ("Pallet strapping", ("12 mm x 1000 m", "16 mm x 850 m")),
        ("Edge protector", ("35 x 35 mm, pack of 100", "50 x 50 mm, pack of 100")),
    )),
    _Category("Services", "SRV", 6_000, 120_000, (
        ("Installation service", ("per hour", "per day")),
        ("Preventive maintenance", ("per visit", "annual contract")),
        ("On-site training", ("half day", "full day")),
        ("Calibration service", ("per device",)),
        ("Emergency call-out", ("weekday", "weekend")),
    )),
)
# fmt: on

#: Catalogue sizes the generator accepts (the templates give this many distinct products).
MIN_PRODUCTS = 10
MAX_PRODUCTS = sum(len(variants) for category in _CATEGORIES for _, variants in category.items) + 1

#: The last catalogue item: freight, billed on some orders at a price set per order.
FREIGHT_SKU = "SRV-FREIGHT"
FREIGHT_NAME = "Freight and packaging"


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
    """``count`` distinct products: goods and services spread evenly over the categories, then freight."""
    if not MIN_PRODUCTS <= count <= MAX_PRODUCTS:
        raise ValueError(f"products must be between {MIN_PRODUCTS} and {MAX_PRODUCTS}, got {count}")
    candidates: list[list[tuple[_Category, str]]] = []
    for category in _CATEGORIES:
        names = [
            (category, f"{item}, {variant}") for item, variants in category.items for variant in variants
        ]
        rng.shuffle(names)
        candidates.append(names)
    items: list[CatalogueItem] = []
    round_no = 0
    longest = max(len(names) for names in candidates)
    goods = count - 1
    while len(items) < goods and round_no < longest:
        for names in candidates:
            if round_no < len(names) and len(items) < goods:
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
    freight = CatalogueItem(count, FREIGHT_SKU, FREIGHT_NAME, "Services", 4_900, discontinued=False)
    return (*items, freight)
