"""``python -m silos --size N``: serve the accounting, support and marketing silos until interrupted and print
their URLs and credentials as JSON."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import selectors
import sys
from pathlib import Path

from .groundtruth import write_ground_truth
from .server import run_silos


async def _serve(args: argparse.Namespace) -> None:
    ports = (args.base_port, args.base_port + 1, args.base_port + 2) if args.base_port else (0, 0, 0)
    async with run_silos(args.size, args.seed, realistic_limits=args.realistic_limits, ports=ports) as silos:
        info = {
            "size": args.size,
            "seed": args.seed,
            "build_seconds": silos.build_seconds,
            **silos.describe(),
        }
        if args.ground_truth:
            data = {handle.name: handle.data for handle in silos}
            rows = write_ground_truth(args.ground_truth, silos.world, **data)
            info["ground_truth"] = {"path": str(args.ground_truth), "rows": rows}
        print(json.dumps(info, indent=2), flush=True)
        print("serving; press Ctrl-C to stop", file=sys.stderr, flush=True)
        await asyncio.Event().wait()


def _precise_timer_loop() -> asyncio.AbstractEventLoop:
    # The injected latency is a loop timer. epoll waits in whole milliseconds and rounds up, so a 50 ms
    # latency came out at 50-51 ms; select() waits in microseconds. This process serves a handful of
    # sockets, where select() costs nothing more than epoll.
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m silos", description=__doc__)
    parser.add_argument("--size", type=int, required=True, help="number of ERP companies")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--base-port",
        type=int,
        default=0,
        help="serve on this port and the next two (default: ephemeral ports)",
    )
    parser.add_argument(
        "--realistic-limits", action="store_true", help="enforce the products' request limits"
    )
    parser.add_argument("--ground-truth", type=Path, help="also write the identity ground truth CSV here")
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error("--size must be at least 1")
    if args.base_port and not 0 < args.base_port < 65534:
        parser.error("--base-port must be between 1 and 65533")
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=_precise_timer_loop) as runner:
        runner.run(_serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
