"""A territory-bound user's new lead stays theirs: without a territory named it goes to their only top
territory (and to them as owner when they are a rep); when the choice is not obvious they are asked to make
it, instead of saving a lead that would vanish from their own lists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hub.security.api_keys import create_api_key

from .support.hub import api_client, gql
from .support.security import World, hs256_token, security_world

CREATE = """mutation($input: LeadInput!) { createLead(input: $input) {
    lead { id territory { id } owner { id } } errors { code field message } } }"""
READ = "query($id: ID!) { lead(id: $id) { id } }"


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory, erp_sqlite: Path) -> AsyncIterator[World]:
    async with security_world(tmp_path_factory.mktemp("new-leads"), erp_sqlite) as built:
        yield built


async def _key(world: World, **binding: Any) -> str:
    config = world.hub.settings.security
    issued = await create_api_key(
        world.hub.db, config, role="sales_rep", actor="tests", name="leads", **binding
    )
    return issued.key


async def _create(world: World, token: str, **fields: Any) -> dict[str, Any]:
    async with api_client(world.hub, key=token) as client:
        status, body = await gql(client, CREATE, {"input": {"name": "Walk-in", **fields}})
        assert status == 200, body
        result: dict[str, Any] = body["data"]["createLead"]
        if result["lead"] is not None:  # whatever was saved, its creator can read it back
            _, read = await gql(client, READ, {"id": result["lead"]["id"]})
            assert read["data"]["lead"] == {"id": result["lead"]["id"]}, read
        return result


async def test_a_reps_lead_goes_to_their_territory_and_to_them(world: World) -> None:
    rep = world.reps["rep_a"]  # owner of territory A, which has the child A1
    result = await _create(world, await _key(world, rep_id=rep))
    assert result["errors"] == []
    assert result["lead"]["territory"] == {"id": world.territories["A"]}
    assert result["lead"]["owner"] == {"id": rep}


async def test_a_token_bound_to_one_territory_fills_it_in(world: World) -> None:
    token = hs256_token(
        {"sub": "ola", "crmhub_role": "sales_rep", "crmhub_territories": [world.territories["B"]]}
    )
    result = await _create(world, token)
    assert result["errors"] == [] and result["lead"]["territory"] == {"id": world.territories["B"]}
    assert result["lead"]["owner"] is None  # the token names no rep


async def test_a_named_territory_below_ones_own_is_kept(world: World) -> None:
    result = await _create(
        world, await _key(world, rep_id=world.reps["rep_a"]), territoryId=world.territories["A1"]
    )
    assert result["errors"] == [] and result["lead"]["territory"] == {"id": world.territories["A1"]}


async def test_several_top_territories_ask_for_a_choice(world: World) -> None:
    token = await _key(world, territories=["Mazowieckie", "Malopolskie"])
    result = await _create(world, token)
    assert result["lead"] is None
    (error,) = result["errors"]
    assert error["code"] == "BAD_USER_INPUT" and error["field"] == "territoryId", error
    assert world.territories["A"] in error["message"] and world.territories["B"] in error["message"]
    assert (await _create(world, token, territoryId=world.territories["B"]))["errors"] == []


async def test_no_territory_at_all_is_refused_with_the_reason(world: World) -> None:
    result = await _create(world, hs256_token({"sub": "new-hire", "crmhub_role": "sales_rep"}))
    assert result["lead"] is None
    (error,) = result["errors"]
    assert error["code"] == "BAD_USER_INPUT" and "no territory" in error["message"], error


async def test_unrestricted_users_still_create_leads_without_a_territory(world: World) -> None:
    config = world.hub.settings.security
    manager = await create_api_key(world.hub.db, config, role="sales_manager", actor="tests", name="m")
    result = await _create(world, manager.key)
    assert result["errors"] == [] and result["lead"]["territory"] is None
