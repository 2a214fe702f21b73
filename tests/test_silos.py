"""The silos as one world: runner, determinism, cross-silo consistency, messy variants, ground truth."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from silos.accounting import AccountingData
from silos.accounting.data import Invoice
from silos.accounting.render import customer_json, invoice_json
from silos.groundtruth import main as groundtruth_main
from silos.groundtruth import read_ground_truth, write_ground_truth
from silos.marketing import MarketingData
from silos.marketing.render import member_json
from silos.server import run_silos, serve_app
from silos.support import SupportData
from silos.support.render import ticket_json
from silos.world import World
from tests.support.silos import SEED, SIZE, silo_data

REPO = Path(__file__).resolve().parents[1]


def test_world_rejects_a_bad_size() -> None:
    for size in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="size"):
            World(size)  # type: ignore[arg-type]


async def test_serve_app_binds_an_ephemeral_port_and_shuts_down() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    app = Starlette(routes=[Route("/", lambda _: PlainTextResponse("hello"))])
    async with serve_app(app) as base_url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        async with httpx.AsyncClient() as client:
            assert (await client.get(base_url)).text == "hello"
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(base_url)


async def test_run_silos_serves_all_three_with_their_credentials() -> None:
    async with run_silos(20, seed=3) as silos, httpx.AsyncClient(timeout=10) as client:
        info = silos.describe()
        assert set(info) == {"accounting", "support", "marketing"}
        acct = info["accounting"]
        token = (
            await client.post(
                acct["token_url"],
                auth=(acct["client_id"], acct["client_secret"]),
                data={"grant_type": "client_credentials"},
            )
        ).json()["access_token"]
        counted = await client.get(
            f"{acct['base_url']}/v3/company/{acct['realm_id']}/query",
            params={"query": "select count(*) from Customer"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert counted.json()["QueryResponse"]["totalCount"] == len(silos.accounting.data.customers)
        desk = info["support"]
        tickets = await client.get(
            f"{desk['base_url']}/api/v2/tickets", auth=(f"{desk['email']}/token", desk["api_token"])
        )
        assert tickets.status_code == 200
        mkt = info["marketing"]
        members = await client.get(
            f"{mkt['base_url']}/3.0/lists/{mkt['list_id']}/members", auth=("x", mkt["api_key"])
        )
        assert members.json()["total_items"] == len(silos.marketing.data.members)
        # Faults are per silo and live.
        silos.support.faults.update(down="503")
        assert (await client.get(f"{desk['base_url']}/api/v2/tickets")).status_code == 503
        assert (
            await client.get(f"{mkt['base_url']}/3.0/ping", auth=("x", mkt["api_key"]))
        ).status_code == 200


def _snapshot(size: int, seed: int) -> str:
    world = World(size, seed=seed)
    acct, desk, mkt = AccountingData.build(world), SupportData.build(world), MarketingData.build(world)
    parts = {
        "customers": [customer_json(c) for c in acct.customers],
        "invoices": [invoice_json(acct, i) for i in acct.invoice_list],
        "tickets": [ticket_json("", t) for t in desk.tickets],
        "members": [member_json(mkt, m) for m in mkt.members],
        "activity": [mkt.report(c.id).codes.hex() for c in mkt.campaigns],
    }
    return json.dumps(parts, sort_keys=True)


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = _snapshot(25, 5)
    assert first == _snapshot(25, 5)
    assert first != _snapshot(25, 6)


async def test_same_seed_same_http_responses() -> None:
    bodies = []
    for _ in range(2):
        async with run_silos(15, seed=9) as silos, httpx.AsyncClient() as client:
            mkt = silos.describe()["marketing"]
            response = await client.get(
                f"{mkt['base_url']}/3.0/lists/{mkt['list_id']}/members",
                params={"count": 1000},
                auth=("x", mkt["api_key"]),
            )
            bodies.append(response.json())
    assert bodies[0] == bodies[1] and bodies[0]["members"]


def test_companies_keep_their_records_as_the_world_grows() -> None:
    small, large = silo_data(SIZE, SEED), silo_data(SIZE * 2, SEED)
    small_orgs = {o.external_id: o.name for o in small.support.organizations}
    large_orgs = {o.external_id: o.name for o in large.support.organizations}
    assert all(large_orgs[code] == name for code, name in small_orgs.items())


def test_accounting_invoices_match_the_erp_orders() -> None:
    data = silo_data()
    world, acct = data.world, data.accounting
    by_code = {c.erp_code: c for c in acct.customers if c.erp_code}
    checked = 0
    for index in range(world.size):
        company = world.company(index)
        customer = by_code.get(company["code"])
        if customer is None:
            assert not world.in_accounting(index)
            continue
        invoiced = [o for o, _ in world.erp.orders_of(index) if o["status"] in ("invoiced", "shipped")]
        invoices = [
            r for r in (acct.by_id("Invoice", i) for i in customer.invoice_ids) if isinstance(r, Invoice)
        ]
        assert len(invoices) == len(customer.invoice_ids)
        assert sorted(str(i.order_number) for i in invoices) == sorted(o["number"] for o in invoiced)
        assert sum((i.total for i in invoices), Decimal(0)) == sum((o["total"] for o in invoiced), Decimal(0))
        assert customer.balance == sum((i.balance for i in invoices), Decimal(0))
        checked += bool(invoices)
    assert checked > SIZE // 2
    # The books number customers themselves: ids are not the ERP's.
    erp_ids = {
        world.company(int(c.cluster_id.split("-")[1]))["id"]: c.id for c in acct.customers if c.erp_code
    }
    assert sum(1 for erp_id, own in erp_ids.items() if erp_id == own) < len(erp_ids) // 4


def test_every_silo_carries_the_shared_erp_key_where_a_real_system_would() -> None:
    data = silo_data()
    codes = {data.world.cluster_id(i): data.world.company(i)["code"] for i in range(data.world.size)}
    for customer in data.accounting.customers:
        note = customer_json(customer).get("Notes")
        assert note == (f"ERP:{codes[customer.cluster_id]}" if customer.cluster_id in codes else None)
    assert all(o.external_id == codes[o.cluster_id] for o in data.support.organizations)
    for member in data.marketing.members:
        erp_code = member_json(data.marketing, member)["merge_fields"]["ERPCODE"]
        assert erp_code == codes.get(member.cluster_id, "")


def test_the_same_company_is_spelled_differently_across_silos() -> None:
    data = silo_data()
    names: dict[str, set[str]] = defaultdict(set)
    for customer in data.accounting.customers:
        names[customer.cluster_id].add(customer.display_name)
    for org in data.support.organizations:
        names[org.cluster_id].add(org.name)
    differing = [cluster for cluster, spelled in names.items() if len(spelled) > 1]
    assert len(differing) > SIZE // 3
    phones = [c.phone for c in data.accounting.customers if c.phone]
    styles = {("+" if p.startswith("+") else "00" if p.startswith("00") else "national") for p in phones}
    assert styles == {"+", "00", "national"}
    people_with_hidden_email = [
        p for i in range(data.world.size) for p in data.world.people(i) if p.email and not p.erp_email
    ]
    member_emails = {m.email.lower() for m in data.marketing.members}
    assert any(p.email in member_emails for p in people_with_hidden_email), (
        "some addresses only marketing knows"
    )


def test_ground_truth_covers_every_record_once(tmp_path: Path) -> None:
    data = silo_data()
    path = tmp_path / "truth.csv"
    count = write_ground_truth(
        path, data.world, accounting=data.accounting, support=data.support, marketing=data.marketing
    )
    rows = read_ground_truth(path)
    assert count == len(rows)
    keys = Counter((r.source, r.external_id) for r in rows)
    assert max(keys.values()) == 1
    expected = {
        "erp": {str(data.world.company(i)["id"]) for i in range(data.world.size)},
        "accounting": {str(c.id) for c in data.accounting.customers},
        "support": {str(o.id) for o in data.support.organizations},
        "marketing": {m.id for m in data.marketing.members},
    }
    for source, ids in expected.items():
        assert {r.external_id for r in rows if r.source == source} == ids
    sources_by_cluster: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        sources_by_cluster[row.cluster_id].add(row.source)
    acct_only = [c for c in sources_by_cluster if c.startswith("acct-")]
    leads = [c for c in sources_by_cluster if c.startswith("lead-")]
    assert acct_only and all(sources_by_cluster[c] == {"accounting"} for c in acct_only)
    assert leads and all(sources_by_cluster[c] == {"marketing"} for c in leads)
    share = len(acct_only) / len(data.accounting.customers)
    assert 0.04 <= share <= 0.11, share
    erp_clusters = [c for c in sources_by_cluster if c.startswith("erp-")]
    assert any("support" not in sources_by_cluster[c] for c in erp_clusters)
    assert any("marketing" not in sources_by_cluster[c] for c in erp_clusters)
    assert any(sources_by_cluster[c] == {"erp", "accounting", "support", "marketing"} for c in erp_clusters)
    lead_members = sum(1 for r in rows if r.source == "marketing" and r.cluster_id.startswith("lead-"))
    assert 0.12 <= lead_members / len(expected["marketing"]) <= 0.28


def test_groundtruth_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gt.csv"
    assert groundtruth_main(["--size", "12", "--out", str(out)]) == 0
    assert out.read_text().splitlines()[0] == "cluster_id,source,entity,external_id"
    assert "rows" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        groundtruth_main(["--size", "0", "--out", str(out)])
    assert refused.value.code == 2 and "--size" in capsys.readouterr().err


async def test_python_dash_m_silos_prints_urls_and_credentials(tmp_path: Path) -> None:
    truth = tmp_path / "truth.csv"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "silos",
        "--size",
        "10",
        "--seed",
        "4",
        "--ground-truth",
        str(truth),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "}\n":
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert line, "the process ended before printing its URLs"
            lines.append(line.decode())
        info = json.loads("".join(lines))
        assert info["size"] == 10 and set(info) >= {"accounting", "support", "marketing"}
        assert info["ground_truth"]["rows"] == len(read_ground_truth(truth)) > 10
        async with httpx.AsyncClient() as client:
            ping = await client.get(
                f"{info['marketing']['base_url']}/3.0/ping", auth=("x", info["marketing"]["api_key"])
            )
            assert ping.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), timeout=15)
        except TimeoutError:
            process.kill()
            await process.wait()
    assert process.returncode == 0
