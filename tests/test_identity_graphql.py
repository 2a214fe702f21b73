"""Identity resolution over GraphQL: ``Customer.sources`` / ``matchExplanation`` and the admin mutations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.identity import hub_customer_id, run_identity_resolution
from hub.security.api_keys import create_api_key

from .support.hub import api_client, gql
from .support.identity import customer, identity_hub, member

RECORDS: dict[str, list[Any]] = {
    "erp": [
        customer("erp", "1", "Alfreds Futterkiste GmbH", phone="030 1234567", email="info@alfreds.de",
                 address={"country": "DE"}),
        customer("erp", "2", "Berglunds snabbköp AB", phone="0921-12 34 65", address={"country": "SE"}),
    ],
    "accounting": [
        customer("accounting", "A1", "ALFREDS FUTTERKISTE G.m.b.H.", phone="+49 30 1234567", address={"country": "Germany"}),
    ],
    "marketing": [member("marketing", "info@alfreds.de")],
}  # fmt: skip

ALFREDS = hub_customer_id("erp", "1")
BERGLUNDS = hub_customer_id("erp", "2")

CUSTOMER = """query($id: ID!) { customer(id: $id) {
    id name
    sources { source entity externalId rule score manual linkedAt }
    matchExplanation {
        source entity externalId rule score manual linkedAt
        matchedWith { source entity externalId }
        criteria { attribute method threshold passed score value matchedValue }
    }
} }"""
MERGE = """mutation($survivor: ID!, $merged: [ID!]!) {
    mergeCustomers(survivorId: $survivor, mergedIds: $merged) { id sources { source externalId rule manual } }
}"""
SPLIT = """mutation($id: ID!, $records: [SourceRecordInput!]!) {
    splitCustomer(customerId: $id, records: $records) {
        customer { id sources { source externalId } }
        newCustomer { id sources { source externalId rule manual } }
    }
}"""
RUN = """mutation($full: Boolean!) { runIdentityResolution(full: $full) {
    full fullReason records recordsChanged clusters customers links linksAdded seconds
    recordsRead { source entity count }
} }"""


async def test_sources_and_match_explanation(tmp_path: Path) -> None:
    async with identity_hub(tmp_path, RECORDS) as (hub, _):
        await run_identity_resolution(hub)
        async with api_client(hub) as client:
            status, body = await gql(client, CUSTOMER, {"id": ALFREDS})
    assert status == 200, body
    found = body["data"]["customer"]
    assert found["id"] == ALFREDS
    sources = {(s["source"], s["externalId"]): s for s in found["sources"]}
    assert set(sources) == {("erp", "1"), ("accounting", "A1"), ("marketing", "info@alfreds.de")}
    assert sources[("accounting", "A1")]["rule"] == "name_and_phone"
    assert sources[("accounting", "A1")]["manual"] is False
    assert sources[("marketing", "info@alfreds.de")]["entity"] == "marketing_member"
    assert all(s["linkedAt"] for s in found["sources"])
    explained = {(e["source"], e["externalId"]): e for e in found["matchExplanation"]}
    anchor = explained[("erp", "1")]
    assert anchor["rule"] == "seed" and anchor["matchedWith"] is None and anchor["criteria"] == []
    accounting = explained[("accounting", "A1")]
    assert accounting["matchedWith"] == {"source": "erp", "entity": "customer", "externalId": "1"}
    criteria = {c["attribute"]: c for c in accounting["criteria"]}
    assert criteria["phone"] == {
        "attribute": "phone", "method": "exact_normalized", "threshold": None, "passed": True, "score": 1.0,
        "value": "+49301234567", "matchedValue": "+49301234567",
    }  # fmt: skip
    assert criteria["company_name"]["method"] == "fuzzy" and criteria["company_name"]["threshold"] == 0.85
    assert (
        criteria["company_name"]["value"] == criteria["company_name"]["matchedValue"] == "alfreds futterkiste"
    )
    assert (
        explained[("marketing", "info@alfreds.de")]["rule"] == "email_and_name"
        or explained[("marketing", "info@alfreds.de")]["rule"] == "email"
    )


async def test_merge_split_and_run_mutations(tmp_path: Path) -> None:
    async with identity_hub(tmp_path, RECORDS) as (hub, _), api_client(hub) as client:
        status, body = await gql(client, RUN, {"full": False})
        assert status == 200, body
        run = body["data"]["runIdentityResolution"]
        assert run["full"] is True and run["fullReason"] == "first run"
        assert run["records"] == 4 and run["customers"] == 2 and run["links"] == 4
        assert {"source": "erp", "entity": "customer", "count": 2} in run["recordsRead"]

        status, body = await gql(client, MERGE, {"survivor": ALFREDS, "merged": [BERGLUNDS]})
        merged = body["data"]["mergeCustomers"]
        assert merged["id"] == ALFREDS
        assert {"source": "erp", "externalId": "2", "rule": "manual", "manual": True} in merged["sources"]
        # The merged-away id resolves to the survivor.
        status, body = await gql(client, CUSTOMER, {"id": BERGLUNDS})
        assert body["data"]["customer"]["id"] == ALFREDS

        records = [{"source": "erp", "entity": "customer", "externalId": "2"}]
        status, body = await gql(client, SPLIT, {"id": ALFREDS, "records": records})
        split = body["data"]["splitCustomer"]
        assert {"source": "erp", "externalId": "2"} not in split["customer"]["sources"]
        assert split["newCustomer"]["sources"] == [
            {"source": "erp", "externalId": "2", "rule": "manual", "manual": True}
        ]
        new_id = split["newCustomer"]["id"]

        status, body = await gql(client, RUN, {"full": True})
        assert body["data"]["runIdentityResolution"]["full"] is True
        status, body = await gql(client, CUSTOMER, {"id": new_id})
        assert [s["externalId"] for s in body["data"]["customer"]["sources"]] == ["2"]


async def test_bad_input_gets_a_clear_error(tmp_path: Path) -> None:
    async with identity_hub(tmp_path, RECORDS) as (hub, _):
        await run_identity_resolution(hub)
        async with api_client(hub) as client:
            _, body = await gql(client, MERGE, {"survivor": ALFREDS, "merged": ["cus_missing"]})
            error = body["errors"][0]
            assert error["extensions"]["code"] == "NOT_FOUND"
            assert "cus_missing" in error["message"]
            records = [{"source": "accounting", "entity": "customer", "externalId": "nope"}]
            _, body = await gql(client, SPLIT, {"id": ALFREDS, "records": records})
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
            assert "not linked" in body["errors"][0]["message"]
            records = [{"source": " ", "entity": "customer", "externalId": "1"}]
            _, body = await gql(client, SPLIT, {"id": ALFREDS, "records": records})
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_mutations_are_for_administrators_only(tmp_path: Path) -> None:
    async with identity_hub(tmp_path, RECORDS) as (hub, _):
        await run_identity_resolution(hub)
        issued = await create_api_key(
            hub.db, hub.settings.security, role="sales_manager", actor="tests", name="manager"
        )
        async with api_client(hub, key=issued.key) as client:
            _, body = await gql(client, RUN, {"full": True})
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            _, body = await gql(client, MERGE, {"survivor": ALFREDS, "merged": [BERGLUNDS]})
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
