"""The engine: blocking, rules and constrained clustering, on hand-made records and on the demo silos' records
scored against their ground truth."""

from __future__ import annotations

import functools

import pytest

from adapters.sdk import Address, Contact, CustomerRecord, MarketingMember
from bench.silo_records import SiloRecords, silo_records
from hub.identity.attributes import Profile, customer_profile, member_profile
from hub.identity.engine import Engine, KnownEdge, ManualConstraints, Resolution
from hub.identity.evaluation import pair_metrics
from hub.identity.settings import MatchCriterion, MatchRule, ResolutionSettings

ORDER = ("erp", "accounting", "support", "marketing")


def customer(
    source: str, external_id: str, name: str, *, contacts: tuple[Contact, ...] = (), **fields: object
) -> Profile:
    address = fields.pop("address", None)
    record = CustomerRecord(
        source=source,
        external_id=external_id,
        name=name,
        address=Address(**address) if address else None,  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )
    return customer_profile(record, contacts)


def member(email: str, **fields: object) -> Profile:
    return member_profile(
        MarketingMember(source="marketing", external_id=email, email=email, status="subscribed", **fields)  # type: ignore[arg-type]
    )


def clusters(resolution: Resolution) -> set[frozenset[str]]:
    return {
        frozenset(f"{resolution.profiles[i].source}:{resolution.profiles[i].external_id}" for i in c.members)
        for c in resolution.clusters
    }


def resolve(profiles: list[Profile], **kwargs: object) -> Resolution:
    return Engine(ResolutionSettings(), source_order=ORDER).resolve(profiles, **kwargs)  # type: ignore[arg-type]


def test_records_of_one_company_across_silos_form_one_cluster() -> None:
    profiles = [
        customer("erp", "1", "Alfreds Futterkiste GmbH", phone="030 1234567", website="www.alfreds.de",
                 address={"postal_code": "12209", "country": "DE"},
                 contacts=(Contact(source="erp", external_id="c1", customer_external_id="1", email="maria@alfreds.de"),)),
        customer("accounting", "A1", "ALFREDS FUTTERKISTE G.m.b.H.", phone="+49 30 1234567", address={"country": "Germany"}),
        customer("support", "S1", "Alfreds Futterkiste", website="alfreds.de"),
        member("Maria@Alfreds.de"),
        member("peter@alfreds.de"),
        customer("erp", "2", "Berglunds snabbköp AB", phone="0921-12 34 65", address={"country": "SE"}),
    ]  # fmt: skip
    result = resolve(profiles)
    assert clusters(result) == {
        frozenset(
            {
                "erp:1",
                "accounting:A1",
                "support:S1",
                "marketing:Maria@Alfreds.de",
                "marketing:peter@alfreds.de",
            }
        ),
        frozenset({"erp:2"}),
    }
    by_key = {profiles[i].external_id: a for c in result.clusters for i, a in c.attachments.items()}
    assert by_key["1"].rule == "seed" and by_key["1"].matched_with is None
    assert by_key["A1"].rule == "name_and_phone"
    assert by_key["Maria@Alfreds.de"].rule == "email"
    explained = {c.attribute: c for c in by_key["A1"].criteria}
    assert explained["phone"].left == explained["phone"].right == "+49301234567"
    assert explained["company_name"].score == 1.0


def test_limits_keep_two_erp_companies_apart_even_when_they_match() -> None:
    profiles = [
        customer("erp", "1", "Schulz GmbH", website="schulz.de", address={"city": "Berlin"}),
        customer("erp", "2", "Schulz GmbH", website="schulz.de", address={"city": "Köln"}),
    ]
    assert len(resolve(profiles).clusters) == 2
    unlimited = Engine(ResolutionSettings(limits={}), source_order=ORDER).resolve(profiles)
    assert len(unlimited.clusters) == 1


def test_a_record_equally_close_to_two_customers_stays_unlinked() -> None:
    profiles = [
        customer("erp", "1", "Schulz GmbH", website="schulz.de", phone="030 1111111", address={"country": "DE"}),
        customer("erp", "2", "Schulz GmbH", website="schulz.de", phone="0221 2222222", address={"country": "DE"}),
        # Domain and name fit both companies equally: no guess.
        customer("support", "S1", "Schulz", website="schulz.de"),
        # The phone number tells this one apart.
        customer("accounting", "A2", "SCHULZ GMBH", website="schulz.de", phone="+49 221 2222222", address={"country": "DE"}),
    ]  # fmt: skip
    result = resolve(profiles)
    assert clusters(result) == {
        frozenset({"erp:1"}),
        frozenset({"erp:2", "accounting:A2"}),
        frozenset({"support:S1"}),
    }
    assert result.stats.clustering.ambiguous_records >= 1


def test_a_tie_between_customers_is_broken_by_the_legal_form_the_record_states() -> None:
    companies = [
        customer("erp", "1", "Great Lakes Construction Inc.", website="greatlakes.com"),
        customer("erp", "2", "Great Lakes Construction LLC", website="greatlakes.com"),
    ]
    # Name and domain fit both; only the first states the same legal form (spelled differently).
    stating = customer("support", "S1", "GREAT LAKES CONSTRUCTION Incorporated", website="greatlakes.com")
    assert clusters(resolve([*companies, stating])) == {
        frozenset({"erp:1", "support:S1"}),
        frozenset({"erp:2"}),
    }
    # A record stating no form gets no guess.
    silent = customer("support", "S2", "Great Lakes Construction", website="greatlakes.com")
    assert frozenset({"support:S2"}) in clusters(resolve([*companies, silent]))


def test_a_record_torn_between_two_customers_keeps_its_other_evidence() -> None:
    shared = Contact(source="erp", external_id="c0", customer_external_id="1", email="sales@dunn.co.uk")
    denise = Contact(source="erp", external_id="c1", customer_external_id="1", email="denise@dunn.co.uk")
    profiles = [
        customer("erp", "1", "Dunn Ltd", contacts=(shared, denise)),
        customer("erp", "2", "Dunn Ltd", email="sales@dunn.co.uk", phone="+44 28 4904 9300"),
        # Both accounting customers share the generic mailbox with ERP 1: it cannot choose between them ...
        customer("accounting", "A1", "Dunn Ltd", email="sales@dunn.co.uk"),
        customer("accounting", "A2", "DUNN Ltd", email="sales@dunn.co.uk", phone="028 4904 9300",
                 address={"country": "GB"}),
        # ... but the help-desk organization only it knows (Denise) is still its own.
        customer("support", "S1", "Dunn Ltd",
                 contacts=(Contact(source="support", external_id="u1", customer_external_id="S1",
                                   email="denise@dunn.co.uk"),)),
    ]  # fmt: skip
    result = clusters(resolve(profiles))
    assert frozenset({"erp:1", "support:S1"}) in result
    assert frozenset({"erp:2", "accounting:A2"}) in result


def test_a_shared_phone_and_domain_link_a_member_without_a_company_name() -> None:
    profiles = [
        customer("erp", "1", "Brooks Corp.", website="brooks.com", phone="+1 617 819 6287"),
        customer("erp", "2", "Brooks Corp.", website="www.brooks.com", phone="1-217-564-5201"),
        member("tamara.walker@brooks.com", phone="617-819-6287"),
    ]
    result = resolve(profiles)
    assert frozenset({"erp:1", "marketing:tamara.walker@brooks.com"}) in clusters(result)
    by_key = {profiles[i].external_id: a for c in result.clusters for i, a in c.attachments.items()}
    assert by_key["tamara.walker@brooks.com"].rule == "phone_and_domain"


def test_manual_merge_overrides_rules_and_limits() -> None:
    a = customer("erp", "1", "Alpha")
    b = customer("erp", "2", "Omega")
    manual = ManualConstraints(must_link=((a.key, b.key),))
    result = resolve([a, b], manual=manual)
    assert clusters(result) == {frozenset({"erp:1", "erp:2"})}
    attachment = next(att for c in result.clusters for i, att in c.attachments.items() if i == 1)
    assert attachment.rule == "manual" and attachment.manual


def test_manual_split_keeps_matching_records_apart() -> None:
    erp = customer("erp", "1", "Alfreds", phone="030 1234567", address={"country": "DE"})
    acct = customer("accounting", "A1", "Alfreds", phone="030 1234567", address={"country": "DE"})
    assert len(resolve([erp, acct]).clusters) == 1
    split = ManualConstraints(splits=((frozenset({acct.key}), frozenset({erp.key})),))
    result = resolve([erp, acct], manual=split)
    assert clusters(result) == {frozenset({"erp:1"}), frozenset({"accounting:A1"})}
    assert result.stats.clustering.refused_by_split >= 1


def test_oversized_blocks_are_split_or_skipped_not_compared_whole() -> None:
    profiles = [customer("support", str(i), f"Company {i:03d}", website="shared.example") for i in range(30)]
    settings = ResolutionSettings(
        rules=(MatchRule(name="domain", criteria=(MatchCriterion(attribute="domain"),)),),
        max_block_size=10,
        limits={},
    )
    result = Engine(settings).resolve(profiles)
    assert result.stats.blocking.oversized_blocks == 1
    assert result.stats.blocking.skipped_records == 30
    assert len(result.clusters) == 30


def test_incremental_resolution_reaches_the_full_result() -> None:
    records = _demo(150)
    profiles = records.profiles()
    engine = Engine(ResolutionSettings(), source_order=ORDER)
    full = engine.resolve(profiles)
    # Evidence of the full run, as a later run reads it back; then one record changes.
    known = [
        KnownEdge(profiles[i].key, profiles[a.matched_with].key, a.rule, a.score, a.criteria)
        for c in full.clusters
        for i, a in c.attachments.items()
        if a.matched_with is not None
    ]
    changed = {next(i for i, p in enumerate(profiles) if p.source == "accounting")}
    again = engine.resolve(profiles, changed=changed, known_edges=known)
    assert again.stats.compared_pairs < full.stats.compared_pairs / 5
    assert clusters(again) == clusters(full)


@functools.cache
def _demo(size: int) -> SiloRecords:
    return silo_records(size, seed=42)


@pytest.mark.parametrize("size", [120, 400])
def test_demo_silos_resolve_with_f1_at_least_0_97(size: int) -> None:
    records = _demo(size)
    result = resolve(records.profiles())
    predicted = {result.profiles[i].key: n for n, c in enumerate(result.clusters) for i in c.members}
    metrics = pair_metrics(predicted, records.truth)
    assert metrics.f1 >= 0.97, metrics.summary()
    assert metrics.precision >= 0.97, metrics.summary()


def test_demo_silos_give_every_erp_customer_its_records_in_other_silos() -> None:
    records = _demo(300)
    result = resolve(records.profiles())
    cluster_of = {result.profiles[i].key: n for n, c in enumerate(result.clusters) for i in c.members}
    profile_of = {p.key: p for p in result.profiles}
    companies: dict[str, list[tuple[str, str, str]]] = {}
    for key, company in records.truth.items():
        companies.setdefault(company, []).append(key)
    erp_names: dict[str, int] = {}
    for key, profile in profile_of.items():
        if key[0] == "erp":
            for name in profile.normalized("company_name"):
                erp_names[name] = erp_names.get(name, 0) + 1
    missing: dict[str, list[tuple[str, str, str]]] = {}
    for company, keys in companies.items():
        erp = next((k for k in keys if k[0] == "erp"), None)
        if erp is not None:
            lost = [k for k in keys if cluster_of[k] != cluster_of[erp]]
            if lost:
                missing[company] = lost
    # One record is undecidable: the generator names two ERP companies "Lone Star Systems" (one with "Inc."
    # in its name, both incorporated, both on lone-star-systems.com) and gives one help-desk organization
    # nothing but that name. It must stay unlinked rather than be guessed.
    assert set(missing) == {"erp-158"}, missing
    for key in missing["erp-158"]:
        profile = profile_of[key]
        assert set(profile.norm) <= {"company_name", "legal_form"}
        assert all(erp_names.get(name, 0) >= 2 for name in profile.normalized("company_name"))
        assert sum(1 for k in cluster_of if cluster_of[k] == cluster_of[key]) == 1


def test_cost_grows_near_linearly() -> None:
    small, large = _demo(120), _demo(400)
    pairs_small = resolve(small.profiles()).stats.compared_pairs
    pairs_large = resolve(large.profiles()).stats.compared_pairs
    growth = large.count() / small.count()
    assert pairs_large / pairs_small < growth * 1.6, (pairs_small, pairs_large, growth)


def test_pair_metrics() -> None:
    truth = {"a": 1, "b": 1, "c": 1, "d": 2}
    assert pair_metrics({"a": "x", "b": "x", "c": "x", "d": "y"}, truth).f1 == 1.0
    split = pair_metrics({"a": "x", "b": "x", "c": "z", "d": "y"}, truth)
    assert (split.correct_pairs, split.predicted_pairs, split.true_pairs) == (1, 1, 3)
    assert split.precision == 1.0 and split.recall == pytest.approx(1 / 3)
    merged = pair_metrics({"a": "x", "b": "x", "c": "x", "d": "x"}, truth)
    assert merged.precision == pytest.approx(3 / 6) and merged.recall == 1.0
