"""Run as a separate process by the Redis tests: start a hub from a config file, read one customer 360, and
print what it cost upstream (JSON on stdout)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from hub.config import load_settings
from hub.hub import Hub

from .hub import api_client, gql

QUERY = """query($id: ID!) { customer(id: $id) {
    name email creditTerms { creditLimit } orders(first: 5) { edges { node { number total } } }
} }"""


async def main(config: Path, customer_id: str) -> None:
    hub = await Hub.start(load_settings(config))
    try:
        adapter = hub.sources.adapter("erp")
        before = adapter.upstream_calls
        async with api_client(hub) as client:
            status, body = await gql(client, QUERY, {"id": customer_id})
        print(json.dumps({"status": status, "calls": adapter.upstream_calls - before, "body": body}))
    finally:
        await hub.aclose()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
