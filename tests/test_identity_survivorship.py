"""Survivorship: each golden-profile field chosen by its own policy."""

from __future__ import annotations

import datetime as dt

from adapters.sdk import Address, CustomerRecord
from hub.identity.settings import FieldPolicy, SurvivorshipConfig
from hub.identity.survivorship import choose
from hub.services.profile import merge_profile

ORDER = ["erp", "accounting", "support"]


def record(source: str, *, hours: int | None = None, **fields: object) -> CustomerRecord:
    return CustomerRecord(
        source=source,
        external_id=f"{source}-1",
        name=str(fields.pop("name", f"{source} name")),
        updated_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=hours)
        if hours is not None
        else None,
        **fields,  # type: ignore[arg-type]
    )


def test_source_priority_uses_the_policys_order_then_config_order() -> None:
    records = [record("erp", phone="1"), record("accounting", phone="2"), record("support", phone="3")]
    assert choose("phone", records, FieldPolicy(), ORDER) == "1"
    assert choose("phone", records, FieldPolicy(sources=("support",)), ORDER) == "3"
    assert choose("phone", records, FieldPolicy(sources=("accounting", "support")), ORDER) == "2"


def test_ignore_empty_falls_through_to_the_next_record_unless_switched_off() -> None:
    records = [record("erp", email=None), record("accounting", email="books@x.de")]
    assert choose("email", records, FieldPolicy(), ORDER) == "books@x.de"
    assert choose("email", records, FieldPolicy(ignore_empty=False), ORDER) is None
    blank = [record("erp", email="   "), record("accounting", email="books@x.de")]
    assert choose("email", blank, FieldPolicy(), ORDER) == "books@x.de"


def test_most_recent_takes_the_latest_update_and_breaks_ties_by_source() -> None:
    records = [
        record("erp", hours=1, website="old.example"),
        record("accounting", hours=5, website="new.example"),
        record("support", hours=None, website="unknown.example"),
    ]
    assert choose("website", records, FieldPolicy(policy="most_recent"), ORDER) == "new.example"
    tied = [record("erp", hours=3, website="a.example"), record("accounting", hours=3, website="b.example")]
    assert choose("website", tied, FieldPolicy(policy="most_recent"), ORDER) == "a.example"
    newest_empty = [record("erp", hours=1, website="a.example"), record("accounting", hours=9, website=None)]
    assert choose("website", newest_empty, FieldPolicy(policy="most_recent"), ORDER) == "a.example"
    assert (
        choose("website", newest_empty, FieldPolicy(policy="most_recent", ignore_empty=False), ORDER) is None
    )


def test_most_frequent_compares_normalized_values_and_keeps_the_winners_spelling() -> None:
    germany = Address(country="DE")
    records = [
        record("erp", phone="030 1234567", address=germany),
        record("accounting", phone="+49 30 999999", address=germany),
        record("support", phone="+49 (0)30 1234567", address=germany),
    ]
    # Two records agree on one number however it is written; the best-ranked spelling of it wins.
    assert choose("phone", records, FieldPolicy(policy="most_frequent"), ORDER) == "030 1234567"
    assert choose("phone", records, FieldPolicy(policy="most_frequent", sources=("support",)), ORDER) == (
        "+49 (0)30 1234567"
    )
    tie = [record("erp", industry="Retail"), record("accounting", industry="Logistics")]
    assert choose("industry", tie, FieldPolicy(policy="most_frequent"), ORDER) == "Retail"


def test_merge_profile_applies_a_policy_per_field() -> None:
    records = [
        record("erp", hours=1, name="Alfreds Futterkiste", email="info@alfreds.de", phone="030 1"),
        record("accounting", hours=9, name="ALFREDS FUTTERKISTE GMBH", email="books@alfreds.de", phone=None),
    ]
    config = SurvivorshipConfig(
        default=FieldPolicy(policy="source_priority"),
        fields={"email": FieldPolicy(policy="most_recent"), "name": FieldPolicy(sources=("accounting",))},
    )
    profile = merge_profile("fallback", records, config, ORDER)
    assert profile.name == "ALFREDS FUTTERKISTE GMBH"
    assert profile.email == "books@alfreds.de"
    assert profile.phone == "030 1"
    # Without a survivorship config: the first record with a value, as before.
    legacy = merge_profile("fallback", records)
    assert (legacy.name, legacy.email) == ("Alfreds Futterkiste", "info@alfreds.de")
    assert merge_profile("fallback", [], config, ORDER).name == "fallback"
