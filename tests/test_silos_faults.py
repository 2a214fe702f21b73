"""Switchable misbehaviour shared by the silos: each switch, in-process and over ``/_silo/faults``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from silos.faults import Faults, FaultsError, FaultsMiddleware
from tests.support.silos import SiloEnv, running_silo


@pytest.fixture(scope="module")
async def desk() -> AsyncIterator[SiloEnv]:
    async with running_silo("support") as env:
        env.client.auth = (env.credentials.username, env.credentials.api_token)
        yield env


@pytest.fixture(autouse=True)
def _calm(desk: SiloEnv) -> None:
    desk.faults.reset()


def test_settings_are_validated() -> None:
    for bad in (
        {"latency_ms": -1},
        {"error_rate": 1.5},
        {"down": "sometimes"},
        {"retry_after": -2},
        {"malformed": "yes"},
        {"jitter_ms": "x"},
    ):
        with pytest.raises(FaultsError):
            Faults(**bad)
    faults = Faults()
    with pytest.raises(FaultsError, match="unknown fault setting"):
        faults.update(explode=True)
    with pytest.raises(FaultsError):
        faults.update(latency_ms=5, error_rate=7)
    assert faults.latency_ms == 0, "a rejected update changes nothing"


def test_error_draws_are_reproducible_from_the_seed() -> None:
    first, second, other = (
        Faults(error_rate=0.5, seed=3),
        Faults(error_rate=0.5, seed=3),
        Faults(error_rate=0.5, seed=4),
    )
    draws = [first.draw_error() for _ in range(40)]
    assert draws == [second.draw_error() for _ in range(40)]
    assert draws != [other.draw_error() for _ in range(40)]
    assert 5 < sum(draws) < 35


async def test_control_endpoint_reads_changes_and_resets(desk: SiloEnv) -> None:
    assert (await desk.client.get("/_silo/faults")).json() == Faults(seed=desk.faults.seed).as_dict()
    changed = await desk.client.post(
        "/_silo/faults", json={"latency_ms": 5, "forced_429": True, "retry_after": 7}
    )
    assert changed.status_code == 200 and changed.json()["retry_after"] == 7
    assert desk.faults.forced_429 and desk.faults.latency_ms == 5
    for body in (b"not json", b"[1, 2]", json.dumps({"error_rate": 2}).encode(), b'{"colour": "red"}'):
        rejected = await desk.client.post("/_silo/faults", content=body)
        assert rejected.status_code == 400 and rejected.json()["detail"]
    assert (await desk.client.delete("/_silo/faults")).json()["forced_429"] is False
    assert not desk.faults.forced_429


async def test_latency_delays_responses(desk: SiloEnv) -> None:
    desk.faults.update(latency_ms=150)
    started = time.perf_counter()
    assert (await desk.client.get("/api/v2/tickets")).status_code == 200
    assert time.perf_counter() - started >= 0.15
    desk.faults.update(latency_ms=0, jitter_ms=30)
    delays = [desk.faults.delay_seconds() for _ in range(50)]
    assert all(0 <= d <= 0.03 for d in delays) and len(set(delays)) > 10


async def test_latency_runs_from_the_requests_arrival_not_after_the_answer_is_prepared() -> None:
    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.08)
        await PlainTextResponse("ready")(scope, receive, send)

    def errors(status: int, code: str, message: str) -> Response:
        return PlainTextResponse(message, status_code=status)

    app = FaultsMiddleware(slow_app, faults=Faults(latency_ms=200), errors=errors)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://silo") as client:
        started = time.perf_counter()
        response = await client.get("/anything")
        elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.text == "ready"
    # 80 ms of preparing inside 200 ms of latency: the answer leaves at 200 ms, not at 280 ms.
    assert 0.2 <= elapsed < 0.26


async def test_error_rate_answers_500_in_the_silos_format(desk: SiloEnv) -> None:
    await desk.client.post("/_silo/faults", json={"error_rate": 1})
    response = await desk.client.get("/api/v2/tickets")
    assert response.status_code == 500 and response.json()["error"] == "InternalError"
    desk.faults.update(error_rate=0.5, seed=11)
    statuses = [
        (await desk.client.get("/api/v2/tickets", params={"page[size]": 1})).status_code for _ in range(20)
    ]
    assert set(statuses) == {200, 500}
    desk.faults.update(seed=11)
    again = [
        (await desk.client.get("/api/v2/tickets", params={"page[size]": 1})).status_code for _ in range(20)
    ]
    assert again == statuses


async def test_down_503_and_down_close_and_back_up(desk: SiloEnv) -> None:
    await desk.client.post("/_silo/faults", json={"down": "503", "retry_after": 4})
    unavailable = await desk.client.get("/api/v2/tickets")
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "4"
    assert unavailable.json()["error"] == "ServiceUnavailable"
    await desk.client.post("/_silo/faults", json={"down": "close"})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await desk.client.get("/api/v2/tickets")
    # The control endpoint still answers while the silo is down.
    assert (await desk.client.post("/_silo/faults", json={"down": None})).status_code == 200
    assert (await desk.client.get("/api/v2/tickets")).status_code == 200


async def test_malformed_bodies_are_cut(desk: SiloEnv) -> None:
    desk.faults.update(malformed=True)
    response = await desk.client.get("/api/v2/tickets")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    desk.faults.update(malformed=False)
    assert (await desk.client.get("/api/v2/tickets")).json()["tickets"]


@pytest.mark.parametrize("name", ["accounting", "support", "marketing"])
async def test_forced_429_in_each_silos_format(name: str) -> None:
    async with running_silo(name, faults=Faults(forced_429=True, retry_after=9)) as env:
        path = {"accounting": "/v3/company/1/query", "support": "/api/v2/tickets", "marketing": "/3.0/lists"}[
            name
        ]
        response = await env.client.get(path)
        assert response.status_code == 429 and response.headers["Retry-After"] == "9"
        body = response.json()
        if name == "accounting":
            assert body["Fault"]["Error"][0]["code"] == "3001"
        elif name == "support":
            assert body["error"] == "APIRateLimitExceeded"
        else:
            assert body["status"] == 429 and body["title"] == "Too Many Requests"
        env.faults.update(forced_429=False)
        assert (await env.client.get(path)).status_code == 401  # through to the silo, which wants credentials
