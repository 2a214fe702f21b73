"""Circuit breakers shared through Redis: a breaker that opens in one hub process opens in the others,
a successful probe closes them all, a process that starts later adopts what is stored, and without Redis
each process's breakers go on alone. Against the real Redis; each test uses its own key prefix."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from hub.config import load_settings
from hub.hub import Hub
from hub.resilience.breaker import BreakerState, CircuitBreaker
from hub.resilience.config import BreakerSettings
from hub.resilience.errors import CircuitOpenError
from hub.resilience.shared import SharedBreakers

from .support.http_server import closed_port
from .support.hub import erp_source, write_config

SETTINGS = BreakerSettings(failure_threshold=3, failure_rate=None, cooldown_seconds=30)


def _open_on_failures(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.settings.failure_threshold):
        breaker.failed(breaker.acquire())
    assert breaker.state is BreakerState.OPEN


async def _eventually(check: object, what: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


async def _sharing(url: str, prefix: str, breaker: CircuitBreaker) -> SharedBreakers:
    shared = SharedBreakers(url, prefix, {"erp": breaker})
    shared.start()
    await asyncio.wait_for(shared.listening.wait(), timeout=5)
    return shared


async def test_a_breaker_opened_in_one_process_opens_in_the_other_and_a_probe_closes_both(
    redis_prefix: tuple[str, str],
) -> None:
    url, prefix = redis_prefix
    here, there = CircuitBreaker("erp", SETTINGS), CircuitBreaker("erp", SETTINGS)
    first, second = await _sharing(url, prefix, here), await _sharing(url, prefix, there)
    try:
        _open_on_failures(here)
        await _eventually(lambda: there.state is BreakerState.OPEN, "the other breaker did not open")
        assert there.opened_reason == "3 consecutive failures, seen by another hub process"
        assert 29 < there.retry_in() <= 30
        try:
            there.acquire("customer")
            raise AssertionError("an adopted open breaker must refuse calls")
        except CircuitOpenError as refused:
            assert "seen by another hub process" in refused.message

        there.adopt_open("later news", retry_in=0)  # nothing left to wait: ignored
        assert there.state is BreakerState.OPEN and there.opened_reason.startswith("3 consecutive")

        # The other process's probe finds the source answering: this one closes too.
        there._opened_at -= 30  # its cool-down is over (the monotonic clock is not ours to move)
        probe = there.acquire()
        assert probe.probe
        there.succeeded(probe)
        await _eventually(lambda: here.state is BreakerState.CLOSED, "the first breaker did not close")
        assert here.acquire() is not None
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_process_that_starts_later_adopts_the_open_breakers_with_the_time_left(
    redis_prefix: tuple[str, str],
) -> None:
    url, prefix = redis_prefix
    here = CircuitBreaker("erp", SETTINGS)
    first = await _sharing(url, prefix, here)
    try:
        _open_on_failures(here)
        await _eventually(lambda: not first._sending, "the decision was not sent")
        later = CircuitBreaker("erp", SETTINGS)
        second = await _sharing(url, prefix, later)
        await second.aclose()
        assert later.state is BreakerState.OPEN and 28 < later.retry_in() <= 30
    finally:
        await first.aclose()


async def test_messages_that_are_not_decisions_and_a_process_own_echo_are_ignored(
    redis_prefix: tuple[str, str],
) -> None:
    url, prefix = redis_prefix
    breaker = CircuitBreaker("erp", SETTINGS)
    shared = SharedBreakers(url, prefix, {"erp": breaker})
    try:
        for junk in (b"not json", b"[1, 2]", json.dumps({"source": "erp"}), json.dumps({"state": "open"})):
            shared.apply(junk)
        own = {"origin": shared.origin, "source": "erp", "state": "open", "reason": "x", "retry_in": 10}
        shared.apply(json.dumps(own))
        other_source = {**own, "origin": "elsewhere", "source": "accounting"}
        shared.apply(json.dumps(other_source))
        assert breaker.state is BreakerState.CLOSED
        shared.apply(json.dumps({**own, "origin": "elsewhere", "retry_in": "soon"}))
        assert breaker.state is BreakerState.CLOSED
    finally:
        await shared.aclose()


async def test_without_redis_each_breaker_decides_alone_and_nothing_waits() -> None:
    breaker = CircuitBreaker("erp", SETTINGS)
    shared = SharedBreakers(f"redis://127.0.0.1:{closed_port()}/0", "crmhub-test-down", {"erp": breaker})
    shared.start()
    try:
        started = time.monotonic()
        _open_on_failures(breaker)
        assert time.monotonic() - started < 0.05, "deciding must not wait for Redis"
        await asyncio.sleep(0.2)
        assert not shared.listening.is_set()
        assert breaker.state is BreakerState.OPEN
    finally:
        started = time.monotonic()
        await shared.aclose()
        assert time.monotonic() - started < 3


SECOND_PROCESS = """
import asyncio, json, sys
from hub.config import load_settings
from hub.hub import Hub

async def main():
    hub = await Hub.start(load_settings(sys.argv[1]))
    try:
        await asyncio.wait_for(hub.sources.shared_breakers.listening.wait(), 10)
        print(json.dumps({"state": "listening"}), flush=True)
        breaker, seen = hub.sources.guards["erp"].breaker, []
        for _ in range(1000):
            state = breaker.state.value
            if not seen or seen[-1] != state:
                seen.append(state)
                print(json.dumps({"state": state, "reason": breaker.opened_reason}), flush=True)
            if seen[-2:] in (["open", "closed"], ["half_open", "closed"]):
                break
            await asyncio.sleep(0.01)
    finally:
        await hub.aclose()

asyncio.run(main())
"""


async def test_two_hub_processes_share_their_breakers(
    redis_prefix: tuple[str, str], erp_sqlite: Path, tmp_path: Path
) -> None:
    url, prefix = redis_prefix
    config = write_config(
        tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}",
        sources=[erp_source(f"sqlite+aiosqlite:///{erp_sqlite}")],
        cache={"enabled": True, "backend": "redis", "redis_url": url, "key_prefix": prefix},
        resilience={"sources": {"erp": {"breaker": {"failure_threshold": 2, "cooldown_seconds": 0.5}}}},
    )
    hub = await Hub.start(load_settings(config))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SECOND_PROCESS, str(config), stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    try:
        assert hub.sources.shared_breakers is not None
        await asyncio.wait_for(hub.sources.shared_breakers.listening.wait(), 10)

        async def next_state() -> dict[str, str]:
            line = await asyncio.wait_for(process.stdout.readline(), 15)  # type: ignore[union-attr]
            assert line, "the second hub process stopped"
            return dict(json.loads(line))

        assert (await next_state())["state"] == "listening"
        assert (await next_state())["state"] == "closed"
        breaker = hub.sources.guards["erp"].breaker
        for _ in range(2):
            breaker.failed(breaker.acquire())
        opened = await next_state()
        assert opened == {"state": "open", "reason": "2 consecutive failures, seen by another hub process"}
        await asyncio.sleep(0.5)  # the cool-down: this process's probe finds the source answering
        probe = breaker.acquire()
        assert probe.probe
        breaker.succeeded(probe)
        states = [(await next_state())["state"]]
        if states[-1] == "half_open":  # its own cool-down may have run out first
            states.append((await next_state())["state"])
        assert states[-1] == "closed"
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await hub.aclose()


async def test_breakers_are_shared_only_with_the_cache_in_redis(
    redis_prefix: tuple[str, str], erp_sqlite: Path, tmp_path: Path
) -> None:
    url, prefix = redis_prefix
    redis_cache = {"enabled": True, "backend": "redis", "redis_url": url, "key_prefix": prefix}
    cases = [
        ({"enabled": True}, {}, False),
        (redis_cache, {}, True),
        (redis_cache, {"share_breakers": False}, False),
    ]
    for number, (cache, resilience, shared) in enumerate(cases):
        directory = tmp_path / str(number)
        directory.mkdir()
        config = write_config(
            directory,
            database_url=f"sqlite+aiosqlite:///{directory / 'hub.sqlite'}",
            sources=[erp_source(f"sqlite+aiosqlite:///{erp_sqlite}")],
            cache=cache,
            resilience=resilience,
        )
        hub = await Hub.start(load_settings(config))
        try:
            assert (hub.sources.shared_breakers is not None) is shared, (cache, resilience)
        finally:
            await hub.aclose()
