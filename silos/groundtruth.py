"""The identity answer key: which records in which silo belong to the same real-world company.

One CSV row per record: ``cluster_id, source, entity, external_id``. ``source`` is erp, accounting, support
or marketing; ``entity`` is the record type whose id ``external_id`` is (ERP company id, accounting Customer
Id, support organization id, marketing member id = subscriber hash). Every record of every silo appears once;
marketing members of one company share the company's cluster; leads and accounting-only customers form
clusters of their own. Identity resolution is scored against this file.

    python -m silos.groundtruth --size 1000 --seed 42 --out groundtruth.csv
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .accounting.data import AccountingData
from .marketing.data import MarketingData
from .support.data import SupportData
from .world import World

COLUMNS = ("cluster_id", "source", "entity", "external_id")


@dataclass(frozen=True, slots=True)
class GroundTruthRow:
    cluster_id: str
    source: str
    entity: str
    external_id: str


def ground_truth_rows(
    world: World, accounting: AccountingData, support: SupportData, marketing: MarketingData
) -> Iterator[GroundTruthRow]:
    for index in range(world.size):
        yield GroundTruthRow(world.cluster_id(index), "erp", "customer", str(world.company(index)["id"]))
    for customer in accounting.customers:
        yield GroundTruthRow(customer.cluster_id, "accounting", "customer", str(customer.id))
    for org in support.organizations:
        yield GroundTruthRow(org.cluster_id, "support", "organization", str(org.id))
    for member in marketing.members:
        yield GroundTruthRow(member.cluster_id, "marketing", "member", member.id)


def write_ground_truth(
    path: str | Path,
    world: World,
    *,
    accounting: AccountingData | None = None,
    support: SupportData | None = None,
    marketing: MarketingData | None = None,
) -> int:
    """Write the CSV (building any data set not given) and return the number of rows."""
    rows = ground_truth_rows(
        world,
        accounting or AccountingData.build(world),
        support or SupportData.build(world),
        marketing or MarketingData.build(world),
    )
    count = 0
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow((row.cluster_id, row.source, row.entity, row.external_id))
            count += 1
    return count


def read_ground_truth(path: str | Path) -> list[GroundTruthRow]:
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(
                f"{path} is not a ground-truth file (columns {reader.fieldnames}, want {COLUMNS})"
            )
        return [GroundTruthRow(**row) for row in reader]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m silos.groundtruth", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, required=True, help="number of ERP companies")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error("--size must be at least 1")
    count = write_ground_truth(args.out, World(args.size, seed=args.seed))
    print(f"wrote {count} rows to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
