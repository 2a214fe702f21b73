"""The whole slice on PostgreSQL: the hub's own database and the ERP silo both on the real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from silos.erp.database import write_database
from silos.erp.generator import ErpGenerator

from .support.hub import api_client, erp_source, gql, running_hub, write_config
from .support.servers import fresh_pg_database

pytestmark = pytest.mark.postgres


async def test_customer_360_with_hub_and_erp_on_postgres(tmp_path: Path) -> None:
    async with fresh_pg_database("crmhub_erp") as erp_url, fresh_pg_database("crmhub_hub") as hub_url:
        counts = await write_database(ErpGenerator(40, seed=3), erp_url)
        config = write_config(tmp_path, database_url=hub_url, sources=[erp_source(erp_url)])
        async with running_hub(config) as hub, api_client(hub) as client:
            status, body = await gql(
                client,
                "{ customers(first: 50) { totalCount edges { node { id name creditTerms { paymentTermsDays }"
                " orders(first: 2) { totalCount edges { node { total lines { amount } } } } } } } }",
            )
            assert status == 200 and "errors" not in body, body
            page = body["data"]["customers"]
            assert page["totalCount"] == counts["companies"] == 40
            orders = sum(e["node"]["orders"]["totalCount"] for e in page["edges"])
            assert orders == counts["orders"]
            # a second seeding run finds nothing new and keeps the ids
            from hub.identity import seed_identity_map

            ids = [e["node"]["id"] for e in page["edges"]]
            report = await seed_identity_map(hub)
            assert report.created == 0 and report.refreshed == 40
            _, again = await gql(client, "{ customers(first: 50) { edges { node { id } } } }")
            assert [e["node"]["id"] for e in again["data"]["customers"]["edges"]] == ids
