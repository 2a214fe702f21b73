"""Warm-cache customer 360 throughput: the hub against bare strawberry serving the same JSON from a dict.

Both servers run under uvicorn (one worker each, in this process, one loaded at a time, on the event loop
``crmhub serve`` runs on) and are loaded by ``bench.load`` in a separate process with the same query, in
alternating rounds (the best round counts).
The hub's cache is warmed first (every silo record of the customers asked for is in memory), so the hub's
cost is its own: authentication, the identity map lookup in its database, the cache reads and the GraphQL
execution. The hub is measured as a front end calls it (a bearer JWT from the identity provider) and, on a
second row, with an API key (one key lookup in the hub database more per request).
Target: hub (front end) requests/s / bare requests/s >= 0.8.

    python -m bench.warm [--seconds 5] [--connections 8] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import jwt
import strawberry
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

from bench.common import machine, run_as_served, served_loop, table
from bench.fanout import positive
from bench.fleet import CUSTOMER_360, silo_fleet
from silos.server import serve_app

TARGET = 0.8
CUSTOMERS = 20
QUICK_ARGS = ("--quick",)
#: ``--quick``: one short round per server, a smoke run.
QUICK_SECONDS = 1.0
QUICK_ROUNDS = 1


@strawberry.type
class Address:
    city: str | None
    country: str | None


@strawberry.type
class Contact:
    first_name: str | None
    last_name: str | None
    email: str | None


@strawberry.type
class CreditTerms:
    credit_limit: Decimal | None
    payment_terms_days: int | None


@strawberry.type
class Order:
    number: str | None
    total: Decimal | None
    status: str | None


@strawberry.type
class OrderEdge:
    node: Order


@strawberry.type
class OrderConnection:
    total_count: int
    edges: list[OrderEdge]


@strawberry.type
class Invoice:
    number: str | None
    total: Decimal
    balance: Decimal


@strawberry.type
class Ticket:
    subject: str
    status: str


@strawberry.type
class ListMembership:
    email: str
    status: str


@strawberry.type
class Marketing:
    subscribed: bool
    lists: list[ListMembership]


@strawberry.type
class Customer:
    id: strawberry.ID
    name: str
    email: str | None
    phone: str | None
    website: str | None
    address: Address | None
    contacts: list[Contact] | None
    credit_terms: CreditTerms | None
    _orders: strawberry.Private[OrderConnection | None]
    invoices: list[Invoice] | None
    tickets: list[Ticket] | None
    marketing: Marketing | None

    @strawberry.field
    def orders(self, first: int = 10) -> OrderConnection | None:
        return self._orders


def _customer(data: dict[str, Any]) -> Customer:
    """The hub's answer, rebuilt as plain objects once: the bare server only walks them."""

    def dec(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    orders = data["orders"]
    return Customer(
        id=strawberry.ID(data["id"]),
        name=data["name"],
        email=data["email"],
        phone=data["phone"],
        website=data["website"],
        address=Address(**data["address"]) if data["address"] else None,
        contacts=[
            Contact(first_name=c["firstName"], last_name=c["lastName"], email=c["email"])
            for c in data["contacts"]
        ],
        credit_terms=CreditTerms(
            credit_limit=dec(data["creditTerms"]["creditLimit"]),
            payment_terms_days=data["creditTerms"]["paymentTermsDays"],
        )
        if data["creditTerms"]
        else None,
        _orders=OrderConnection(
            total_count=orders["totalCount"],
            edges=[
                OrderEdge(
                    node=Order(
                        number=e["node"]["number"], total=dec(e["node"]["total"]), status=e["node"]["status"]
                    )
                )
                for e in orders["edges"]
            ],
        ),
        invoices=[
            Invoice(number=i["number"], total=Decimal(str(i["total"])), balance=Decimal(str(i["balance"])))
            for i in data["invoices"]
        ],
        tickets=[Ticket(subject=t["subject"], status=t["status"]) for t in data["tickets"]],
        marketing=Marketing(
            subscribed=data["marketing"]["subscribed"],
            lists=[ListMembership(**m) for m in data["marketing"]["lists"]],
        )
        if data["marketing"]
        else None,
    )


def bare_app(customers: dict[str, dict[str, Any]], *, document_caches: bool = False) -> GraphQL[Any, Any]:
    """Strawberry as it comes; with ``document_caches`` also the parser and validation caches the hub uses,
    so it no longer parses and validates the (same) query on every request."""
    by_id = {customer_id: _customer(data) for customer_id, data in customers.items()}

    @strawberry.type
    class Query:
        @strawberry.field
        def customer(self, id: strawberry.ID) -> Customer | None:
            return by_id.get(str(id))

    extensions = [ParserCache, ValidationCache] if document_caches else []
    return GraphQL(strawberry.Schema(query=Query, extensions=extensions), graphql_ide=None)


def _load(
    url: str, customer_id: str, seconds: float, connections: int, key: str | None = None
) -> dict[str, float]:
    body = json.dumps({"query": CUSTOMER_360, "variables": {"id": customer_id}})
    auth = ["--header", f"Authorization: Bearer {key}"] if key else []
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.load",
            "--url",
            url,
            "--body",
            body,
            "--seconds",
            str(seconds),
            "--connections",
            str(connections),
            *auth,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    if result["errors"]:
        raise SystemExit(f"{int(result['errors'])} requests failed against {url}")
    return result


#: Who the front end's users are, as the identity provider's tokens say (HS256 with a per-run secret).
JWT_ISSUER = "https://idp.bench.invalid"
JWT_AUDIENCE = "crmhub"


def _front_end_token(secret: str) -> str:
    now = int(time.time())
    claims = {
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "sub": "agent-1",
        "email": "agent@bench.invalid",
        "crmhub_role": "admin",
        "iat": now,
        "exp": now + 3600,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def _rps(run: dict[str, float]) -> float:
    return run["requests"] / run["seconds"]


async def measure(seconds: float, connections: int, rounds: int) -> dict[str, float]:
    """Four servers in alternating rounds: the hub as a front end calls it (a JWT from the identity
    provider, checked without a database read), the hub with an API key (as BI tools and scripts call it:
    one key lookup in the hub database per request), bare strawberry (the graded baseline), and bare
    strawberry with the parser and validation caches (a stricter baseline, reported next to it)."""
    from hub.app import create_app
    from hub.context import RequestContext
    from hub.security.api_keys import create_api_key
    from schema import build_schema

    schema = build_schema()
    secret = secrets.token_urlsafe(32)
    security = {
        "jwt": {
            "issuer": JWT_ISSUER,
            "audience": JWT_AUDIENCE,
            "algorithms": ["HS256"],
            "hs256_secret": secret,
        }
    }
    with tempfile.TemporaryDirectory() as tmp:
        async with silo_fleet(
            Path(tmp), cache={"enabled": True, "default_ttl_seconds": 3600}, security=security
        ) as fleet:
            hub, ids = fleet.hub, fleet.customers[:CUSTOMERS]
            answers: dict[str, dict[str, Any]] = {}
            for customer_id in ids:  # warm the cache
                result = await schema.execute(
                    CUSTOMER_360, {"id": customer_id}, context_value=RequestContext.for_hub(hub)
                )
                assert not result.errors and result.data, result.errors
                answers[customer_id] = result.data["customer"]
            api_key = (
                await create_api_key(hub.db, hub.settings.security, role="admin", actor="bench", name="bench")
            ).key
            token = _front_end_token(secret)
            upstream_before = sum(hub.sources.adapter(n).upstream_calls for n in hub.sources.names())
            async with (
                serve_app(create_app(hub=hub)) as hub_url,
                serve_app(bare_app(answers)) as bare_url,
                serve_app(bare_app(answers, document_caches=True)) as cached_url,
            ):
                # Alternate the servers and keep each one's best round: the machine may be shared, and a
                # burst of someone else's work should not decide the ratio.
                runs: dict[str, list[dict[str, float]]] = {"jwt": [], "api_key": [], "bare": [], "cached": []}
                for _ in range(rounds):
                    for name, url, credential in (
                        ("jwt", f"{hub_url}/graphql", token),
                        ("api_key", f"{hub_url}/graphql", api_key),
                        ("bare", f"{bare_url}/graphql", None),
                        ("cached", f"{cached_url}/graphql", None),
                    ):
                        runs[name].append(
                            await asyncio.to_thread(_load, url, ids[0], seconds, connections, credential)
                        )
            upstream = (
                sum(hub.sources.adapter(n).upstream_calls for n in hub.sources.names()) - upstream_before
            )
    hub_rps, key_rps, bare_rps, cached_rps = (
        max(_rps(run) for run in runs[name]) for name in ("jwt", "api_key", "bare", "cached")
    )
    if not (hub_rps and key_rps and bare_rps and cached_rps):
        raise SystemExit("a server answered no request in the time given; try more --seconds")
    return {
        "hub_rps": hub_rps,
        "bare_rps": bare_rps,
        "ratio": hub_rps / bare_rps,
        "api_key_rps": key_rps,
        "api_key_ratio": key_rps / bare_rps,
        "cached_bare_rps": cached_rps,
        "cached_ratio": hub_rps / cached_rps,
        "upstream": upstream,
        # The load is closed-loop (each connection waits for its answer before sending again), so the mean
        # latency follows from the throughput (Little's law); the generator does not time single requests.
        "hub_mean_latency_ms": connections / hub_rps * 1000,
        "bare_mean_latency_ms": connections / bare_rps * 1000,
        "seconds": seconds,
        "connections": float(connections),
        "rounds": float(rounds),
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.warm",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=positive(float), default=5.0, help="length of a round (> 0)")
    parser.add_argument("--connections", type=positive(int), default=8, help="concurrent connections (> 0)")
    parser.add_argument(
        "--rounds", type=positive(int), default=3, help="alternating rounds per server; the best counts"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROUNDS} round of {QUICK_SECONDS:g} s per server: a smoke run, not a measurement",
    )
    args = parser.parse_args(argv)
    seconds, rounds = (QUICK_SECONDS, QUICK_ROUNDS) if args.quick else (args.seconds, args.rounds)
    result = run_as_served(measure(seconds, args.connections, rounds))
    print(f"machine: {machine()}; event loop (both servers): {served_loop()}")
    print(
        table(
            [
                "caller",
                "hub (warm cache) req/s",
                "bare strawberry req/s",
                "hub / bare",
                "target",
                "upstream calls",
            ],
            [
                [
                    "front end (JWT)",
                    f"{result['hub_rps']:.0f}",
                    f"{result['bare_rps']:.0f}",
                    f"{result['ratio']:.2f}",
                    f">= {TARGET}",
                    f"{result['upstream']:.0f}",
                ],
                [
                    "API key (one key lookup per request)",
                    f"{result['api_key_rps']:.0f}",
                    f"{result['bare_rps']:.0f}",
                    f"{result['api_key_ratio']:.2f}",
                    "-",
                    "",
                ],
            ],
        )
    )
    print(
        "stricter baseline, bare strawberry with ParserCache and ValidationCache: "
        f"{result['cached_bare_rps']:.0f} req/s; hub (JWT) / it = {result['cached_ratio']:.2f} "
        "(reported, not graded: with the caches, parsing and validating no longer dominate its cost)"
    )
    return result


if __name__ == "__main__":
    main()
