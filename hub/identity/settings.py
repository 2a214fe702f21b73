"""The ``identity:`` section of ``crmhub.yaml``: match rules, limits and survivorship, as data.

Modelled on how customer-data platforms let admins declare identity resolution: a ruleset is an OR of match
rules, each rule an AND of criteria, each criterion one attribute compared ``exact``, ``exact_normalized``
or ``fuzzy`` (with a threshold); limits cap how many records of one source a customer may hold (merge
protection); survivorship (reconciliation) rules pick each golden-profile field::

    identity:
      seed_sources: [erp, accounting]
      rules:
        - name: name_and_phone
          criteria:
            - {attribute: company_name, method: fuzzy, threshold: 0.85}
            - {attribute: phone, method: exact_normalized}
      survivorship:
        default: {policy: source_priority, sources: [erp, accounting]}
        fields:
          phone: {policy: most_frequent}

This module only imports pydantic, so ``hub.config`` can use it without import cycles.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Attributes a criterion may compare (see ``hub.identity.attributes`` for where each comes from).
ATTRIBUTES: dict[str, str] = {
    "company_name": "the organisation's name and legal name (a marketing member's company field)",
    "legal_form": "the legal form the name states (GmbH, Inc., SARL ...), one spelling per form",
    "email": "e-mail addresses of the record and of its contacts",
    "email_domain": "domains of those e-mail addresses, webmail providers excluded",
    "website_domain": "the website's host name without www",
    "domain": "email_domain and website_domain together",
    "phone": "phone numbers of the record and of its contacts, as E.164",
    "tax_id": "the tax or VAT id, with its country prefix",
    "postal_code": "the postal code without separators",
    "city": "the city",
    "street": "street and number",
    "country": "the ISO country code",
}

Method = Literal["exact", "exact_normalized", "fuzzy"]
Policy = Literal["source_priority", "most_recent", "most_frequent"]
#: Golden-profile fields a survivorship policy may be set for.
PROFILE_FIELDS = ("name", "legal_name", "email", "phone", "website", "tax_id", "industry", "address")


class MatchCriterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    attribute: str
    method: Method = "exact_normalized"
    #: For ``fuzzy``: the least similarity (0..1) that counts as a match.
    threshold: float | None = Field(default=None, gt=0, le=1)

    @field_validator("attribute")
    @classmethod
    def _known_attribute(cls, value: str) -> str:
        if value not in ATTRIBUTES:
            raise ValueError(f"unknown attribute {value!r}; known: {', '.join(ATTRIBUTES)}")
        return value

    @model_validator(mode="after")
    def _threshold_fits_method(self) -> MatchCriterion:
        if self.method == "fuzzy" and self.threshold is None:
            raise ValueError(f"fuzzy criterion on {self.attribute!r} needs a threshold (0 < t <= 1)")
        if self.method != "fuzzy" and self.threshold is not None:
            raise ValueError(f"threshold only applies to fuzzy criteria, not to {self.method!r}")
        return self


class MatchRule(BaseModel):
    """Two records match under this rule when every criterion holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80, pattern=r"^[a-z][a-z0-9_]*$")
    criteria: tuple[MatchCriterion, ...] = Field(min_length=1)
    description: str = ""

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_RULE_NAMES:
            raise ValueError(f"{value!r} is reserved for links the hub makes itself")
        return value


#: Rule names the hub writes on links it makes without a match rule.
SEED_RULE = "seed"
MANUAL_RULE = "manual"
RESERVED_RULE_NAMES = frozenset({SEED_RULE, MANUAL_RULE, "lead_conversion"})


def _criterion(
    attribute: str, method: Method = "exact_normalized", threshold: float | None = None
) -> MatchCriterion:
    return MatchCriterion(attribute=attribute, method=method, threshold=threshold)


#: Strongest first: the order decides which rule a link is explained by and, within the engine, which
#: evidence wins when two candidate customers compete for a record.
DEFAULT_RULES: tuple[MatchRule, ...] = (
    MatchRule(
        name="tax_id",
        criteria=(_criterion("tax_id"),),
        description="The same tax / VAT id.",
    ),
    MatchRule(
        name="email_and_name",
        criteria=(_criterion("email"), _criterion("company_name", "fuzzy", 0.8)),
        description="A shared e-mail address and a similar company name.",
    ),
    MatchRule(
        name="name_and_phone",
        criteria=(_criterion("company_name", "fuzzy", 0.85), _criterion("phone")),
        description="A similar company name and a shared phone number.",
    ),
    MatchRule(
        name="name_and_postal_code",
        criteria=(
            _criterion("company_name", "fuzzy", 0.85),
            _criterion("postal_code"),
            _criterion("country"),
        ),
        description="A similar company name at the same postal code in the same country.",
    ),
    MatchRule(
        name="name_and_domain",
        criteria=(_criterion("company_name", "fuzzy", 0.85), _criterion("domain")),
        description="A similar company name and the same company web / e-mail domain.",
    ),
    MatchRule(
        name="phone_and_domain",
        criteria=(_criterion("phone"), _criterion("domain")),
        description="A shared phone number and the same company web / e-mail domain (a person known only by "
        "their work address and direct line).",
    ),
    MatchRule(
        name="email",
        criteria=(_criterion("email"),),
        description="A shared e-mail address (a person known to both systems).",
    ),
    MatchRule(
        name="domain",
        criteria=(_criterion("domain"),),
        description="The same company web / e-mail domain (webmail never counts).",
    ),
    MatchRule(
        name="name",
        criteria=(_criterion("company_name"),),
        description="The same company name (legal form aside): the last resort, for records that say nothing "
        "else; merge protection leaves it unused when the name fits several customers.",
    ),
)


class FieldPolicy(BaseModel):
    """How one golden-profile field is chosen among the linked records (a reconciliation rule)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Policy = "source_priority"
    #: Source order for ``source_priority`` (and the tie-break of the other policies); unlisted sources
    #: follow in config order. Empty: the sources' config order.
    sources: tuple[str, ...] = ()
    #: Skip records whose value is empty; with ``false`` the winning record's empty value stays empty.
    ignore_empty: bool = True


class SurvivorshipConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: FieldPolicy = Field(default_factory=FieldPolicy)
    fields: dict[str, FieldPolicy] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, FieldPolicy]) -> dict[str, FieldPolicy]:
        unknown = sorted(set(value) - set(PROFILE_FIELDS))
        if unknown:
            raise ValueError(f"unknown profile field {unknown[0]!r}; known: {', '.join(PROFILE_FIELDS)}")
        return value

    def policy_for(self, field: str) -> FieldPolicy:
        return self.fields.get(field, self.default)

    def named_sources(self) -> set[str]:
        return {s for policy in (self.default, *self.fields.values()) for s in policy.sources}


class ResolutionSettings(BaseModel):
    """Everything the matching engine needs besides the records (split out of ``IdentityConfig`` so the
    engine and the benchmarks can run without a hub)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[MatchRule, ...] = DEFAULT_RULES
    #: Per canonical entity: how many records of ONE source a customer may hold (Segment-style merge
    #: protection). ``{"customer": 1}``: two ERP companies never end up in one customer automatically.
    #: ``"source.entity"`` keys override for one source. Unlisted entities are unlimited.
    limits: dict[str, int] = Field(default_factory=lambda: {"customer": 1})
    #: Blocks (records sharing a key) larger than this are refined or skipped, so cost stays near-linear.
    max_block_size: int = Field(default=200, ge=2, le=100_000)

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, value: tuple[MatchRule, ...]) -> tuple[MatchRule, ...]:
        names = [rule.name for rule in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"rule name {duplicates[0]!r} is used more than once")
        return value

    @field_validator("limits")
    @classmethod
    def _positive_limits(cls, value: dict[str, int]) -> dict[str, int]:
        for key, limit in value.items():
            if limit < 1:
                raise ValueError(f"limit for {key!r} must be at least 1")
        return value

    def limit_for(self, source: str, entity: str) -> int | None:
        return self.limits.get(f"{source}.{entity}", self.limits.get(entity))
