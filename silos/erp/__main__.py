"""``python -m silos.erp``: generate the ERP database into a SQLite file or any database URL.

python -m silos.erp --size 100 --out erp.sqlite
python -m silos.erp --size 100000 --seed 7 --url postgresql+asyncpg://postgres@127.0.0.1:5432/erp
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import make_url

from .database import write_database, write_sqlite
from .generator import MAX_ORDERS_PER_CUSTOMER_MEAN, ErpGenerator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m silos.erp", description="Generate the simulated ERP database (deterministic)."
    )
    parser.add_argument("--size", type=int, default=100, help="number of companies (default: 100)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    parser.add_argument(
        "--orders-per-customer",
        type=float,
        default=8.0,
        help=f"mean orders per company, 0-{MAX_ORDERS_PER_CUSTOMER_MEAN:g} (default: 8)",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="SQLite file to write (replaced atomically)")
    target.add_argument("--url", help="SQLAlchemy database URL, e.g. postgresql+asyncpg://user@host/db")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        generator = ErpGenerator(args.size, seed=args.seed, orders_per_customer=args.orders_per_customer)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        if args.out is not None:
            where = str(args.out)
            counts = write_sqlite(generator, args.out)
        else:
            where = make_url(args.url).render_as_string(hide_password=True) if "://" in args.url else args.url
            counts = asyncio.run(write_database(generator, args.url))
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as exc:  # a command-line tool reports, it does not dump a traceback
        detail = getattr(exc, "orig", None) or exc  # the driver's message, without SQLAlchemy's boilerplate
        print(f"error: {type(detail).__name__}: {detail}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    width = max(len(name) for name in counts)
    for name, count in counts.items():
        print(f"{name:<{width}}  {count:>10,}")
    print(f"wrote {sum(counts.values()):,} rows to {where} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
