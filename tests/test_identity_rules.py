"""Match rules: an OR of rules, each an AND of criteria, compared exact, exact-normalized or fuzzy; and the
validation of the ``identity:`` section that declares them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.sdk import Address, Contact, CustomerRecord, MarketingMember
from hub.config import load_settings
from hub.errors import ConfigError
from hub.identity.attributes import Profile, customer_profile, member_profile
from hub.identity.rules import RuleSet
from hub.identity.settings import DEFAULT_RULES, MatchCriterion, MatchRule, ResolutionSettings


def _customer(source: str, external_id: str, name: str, **fields: object) -> Profile:
    address = fields.pop("address", None)
    contacts = fields.pop("contacts", ())
    record = CustomerRecord(
        source=source,
        external_id=external_id,
        name=name,
        address=Address(**address) if address else None,  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )
    return customer_profile(record, contacts)  # type: ignore[arg-type]


def _rule(name: str, *criteria: tuple[str, str] | tuple[str, str, float]) -> MatchRule:
    return MatchRule(
        name=name,
        criteria=tuple(
            MatchCriterion(attribute=c[0], method=c[1], threshold=c[2] if len(c) > 2 else None)  # type: ignore[misc]
            for c in criteria
        ),
    )


def test_profile_collects_normalized_attributes_with_contacts() -> None:
    contact = Contact(
        source="erp",
        external_id="c1",
        customer_external_id="1",
        email="Maria@Alfreds.de",
        phone="030 111 2222",
    )
    profile = _customer(
        "erp",
        "1",
        "Alfreds Futterkiste GmbH",
        email="info@alfreds.de",
        website="https://www.alfreds.de",
        phone="030 1234567",
        tax_id="DE 123 456 789",
        address={"street": "Obere Str. 57", "city": "Berlin", "postal_code": "12209", "country": "Germany"},
        contacts=[contact],
    )
    assert profile.normalized("company_name") == {"alfreds futterkiste"}
    assert profile.normalized("email") == {"info@alfreds.de", "maria@alfreds.de"}
    assert profile.normalized("domain") == {"alfreds.de"}
    assert profile.normalized("phone") == {"+49301234567", "+49301112222"}
    assert profile.normalized("tax_id") == {"DE123456789"}
    assert profile.normalized("country") == {"DE"}
    assert profile.raw("email") == {"info@alfreds.de", "Maria@Alfreds.de"}
    assert profile.country == "DE"


def test_member_phone_uses_the_mail_domain_country() -> None:
    member = MarketingMember(
        source="mkt", external_id="m1", email="jan@kowalski.pl", status="subscribed", phone="58 554 18 62"
    )
    assert member_profile(member).normalized("phone") == {"+48585541862"}


def test_a_pair_matches_the_first_rule_whose_criteria_all_hold() -> None:
    rules = RuleSet(
        [
            _rule("tax", ("tax_id", "exact_normalized")),
            _rule("name_phone", ("company_name", "fuzzy", 0.85), ("phone", "exact_normalized")),
            _rule("domain", ("domain", "exact_normalized")),
        ]
    )
    erp = _customer("erp", "1", "Alfreds Futterkiste GmbH", phone="030 1234567", website="alfreds.de")
    acct = _customer("acct", "9", "ALFREDS FUTTERKIST", phone="+49 30 1234567", address={"country": "DE"})
    match = rules.first_match(erp, acct)
    assert match is not None and match.rule == "name_phone"
    assert match.score == pytest.approx(match.criteria[0].score)
    assert 0.85 <= match.score < 1.0
    assert [c.attribute for c in match.criteria] == ["company_name", "phone"]
    assert match.criteria[1].left == match.criteria[1].right == "+49301234567"
    # Every satisfied rule is reported, strongest first.
    assert [rank for rank, _ in rules.matches(erp, acct)] == [1]


def test_and_needs_every_criterion() -> None:
    rules = RuleSet([_rule("name_phone", ("company_name", "fuzzy", 0.85), ("phone", "exact_normalized"))])
    erp = _customer("erp", "1", "Alfreds Futterkiste", phone="030 1234567", address={"country": "DE"})
    other_phone = _customer(
        "acct", "9", "Alfreds Futterkiste", phone="030 7654321", address={"country": "DE"}
    )
    other_name = _customer("acct", "8", "Berglunds Snabbköp", phone="030 1234567", address={"country": "DE"})
    assert rules.first_match(erp, other_phone) is None
    assert rules.first_match(erp, other_name) is None


def test_fuzzy_threshold_is_inclusive_and_enforced() -> None:
    a = _customer("erp", "1", "Mullin Engineering")
    b = _customer("acct", "2", "Mulin Engineering")
    score = RuleSet([_rule("n", ("company_name", "fuzzy", 0.5))]).first_match(a, b)
    assert score is not None
    at = RuleSet([_rule("n", ("company_name", "fuzzy", math.floor(score.score * 1e6) / 1e6))])
    above = RuleSet([_rule("n", ("company_name", "fuzzy", min(1.0, score.score + 0.01)))])
    assert at.first_match(a, b) is not None
    assert above.first_match(a, b) is None


def test_exact_compares_raw_values_and_exact_normalized_their_normal_form() -> None:
    a = _customer("erp", "1", "A", email="Info@Example.DE")
    b = _customer("acct", "2", "B", email="info@example.de")
    assert RuleSet([_rule("raw", ("email", "exact"))]).first_match(a, b) is None
    assert RuleSet([_rule("norm", ("email", "exact_normalized"))]).first_match(a, b) is not None


def test_blanks_never_match() -> None:
    rules = RuleSet([_rule("tax", ("tax_id", "exact_normalized")), _rule("city", ("city", "fuzzy", 0.01))])
    a = _customer("erp", "1", "Alpha", address={"city": "Berlin"})
    b = _customer("acct", "2", "Alpha")
    assert rules.first_match(a, b) is None
    explained = rules.explain("tax", a, b)
    assert explained[0].passed is False and explained[0].left is None


def test_webmail_domains_do_not_link_companies() -> None:
    rules = RuleSet(DEFAULT_RULES)
    a = _customer("erp", "1", "Alpha Bau", email="alpha.bau@gmail.com")
    b = _customer("acct", "2", "Omega Logistik", email="omega@gmail.com")
    assert rules.first_match(a, b) is None


# -- configuration ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criterion", "message"),
    [
        ({"attribute": "shoe_size"}, "unknown attribute 'shoe_size'"),
        ({"attribute": "company_name", "method": "fuzzy"}, "needs a threshold"),
        ({"attribute": "email", "threshold": 0.9}, "threshold only applies to fuzzy"),
        ({"attribute": "email", "method": "soundex"}, "Input should be"),
        ({"attribute": "company_name", "method": "fuzzy", "threshold": 1.5}, "less than or equal to 1"),
    ],
)
def test_bad_criteria_are_refused_clearly(criterion: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MatchCriterion.model_validate(criterion)


def test_bad_rulesets_are_refused_clearly() -> None:
    rule = {"name": "same", "criteria": [{"attribute": "email"}]}
    with pytest.raises(ValidationError, match="used more than once"):
        ResolutionSettings.model_validate({"rules": [rule, rule]})
    with pytest.raises(ValidationError, match="reserved"):
        MatchRule.model_validate({"name": "manual", "criteria": [{"attribute": "email"}]})
    with pytest.raises(ValidationError, match="at least 1"):
        MatchRule.model_validate({"name": "empty", "criteria": []})
    with pytest.raises(ValidationError, match="at least 1"):
        ResolutionSettings.model_validate({"limits": {"customer": 0}})


def _config(tmp_path: Path, identity: str) -> Path:
    path = tmp_path / "crmhub.yaml"
    path.write_text(
        "sources:\n  - {name: erp, adapter: sql, config: {url: 'sqlite+aiosqlite:///x.db', mapping: m.yaml}}\n"
        f"identity:\n{identity}"
    )
    return path


def test_rules_are_declared_in_crmhub_yaml(tmp_path: Path) -> None:
    settings = load_settings(
        _config(
            tmp_path,
            "  seed_sources: [erp]\n"
            "  limits: {customer: 2, erp.customer: 1}\n"
            "  rules:\n"
            "    - name: vat\n"
            "      criteria: [{attribute: tax_id}]\n"
            "    - name: name_and_city\n"
            "      criteria:\n"
            "        - {attribute: company_name, method: fuzzy, threshold: 0.9}\n"
            "        - {attribute: city, method: exact_normalized}\n",
        )
    )
    identity = settings.identity
    assert [r.name for r in identity.rules] == ["vat", "name_and_city"]
    assert identity.rules[1].criteria[0].threshold == 0.9
    assert identity.limit_for("erp", "customer") == 1
    assert identity.limit_for("support", "customer") == 2
    assert identity.limit_for("mkt", "marketing_member") is None


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        (
            "  rules:\n    - {name: x, criteria: [{attribute: colour}]}\n",
            "identity.rules.0.criteria.0.attribute",
        ),
        ("  sources: [nowhere]\n", "identity.sources: no source named 'nowhere'"),
        (
            "  survivorship: {default: {policy: source_priority, sources: [ghost]}}\n",
            "identity.survivorship: no source named 'ghost'",
        ),
        (
            "  survivorship: {fields: {shoe_size: {policy: most_recent}}}\n",
            "unknown profile field 'shoe_size'",
        ),
        (
            "  survivorship: {fields: {email: {policy: loudest}}}\n",
            "identity.survivorship.fields.email.policy",
        ),
    ],
)
def test_bad_identity_config_names_the_field(tmp_path: Path, identity: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_settings(_config(tmp_path, identity))
