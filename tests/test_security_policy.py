"""The field policy itself: root fields nobody classified are closed to all but ``*``, and a permission
refused on a nested field nulls that field only."""

from __future__ import annotations

import dataclasses

import strawberry

from hub.context import RequestContext
from hub.security.principal import SYSTEM, Principal
from schema import RootMutation, RootQuery
from schema.permissions import QUERY_POLICY, apply_policy, unclassified_root_fields


@strawberry.type
class Secret:
    @strawberry.field
    def value(self) -> str:
        return "classified"


@strawberry.type
class ProbeQuery:
    @strawberry.field
    def unclassified(self) -> str | None:  # a root field nobody put in the policy
        return "inside"

    @strawberry.field
    def customers(self) -> list[str]:  # named like a classified field: customer:read
        return ["c1"]


@strawberry.type
class ProbeMutation:
    @strawberry.mutation
    def noop(self) -> bool:
        return True


def _as(principal: Principal) -> RequestContext:
    return RequestContext(hub=None, loaders=None, principal=principal)  # type: ignore[arg-type]


def test_unclassified_root_fields_are_closed_to_all_but_everything() -> None:
    apply_policy(ProbeQuery, ProbeMutation)
    apply_policy(ProbeQuery, ProbeMutation)  # building twice guards once
    schema = strawberry.Schema(query=ProbeQuery, mutation=ProbeMutation)
    reader = dataclasses.replace(SYSTEM, id="r", permissions=frozenset({"customer:read"}), role="reader")
    refused = schema.execute_sync("{ unclassified customers }", context_value=_as(reader))
    assert refused.data == {"unclassified": None, "customers": ["c1"]}
    assert [e.message for e in refused.errors or []] == [
        "not allowed: ProbeQuery.unclassified needs the '*' permission"
    ]
    allowed = schema.execute_sync("{ unclassified customers } ", context_value=_as(SYSTEM))
    assert allowed.errors is None and allowed.data == {"unclassified": "inside", "customers": ["c1"]}
    anonymous = schema.execute_sync("{ customers }", context_value=object())
    assert anonymous.data is None and anonymous.errors  # no principal at all: nothing


def test_the_real_schema_classifies_its_security_and_crm_fields() -> None:
    missing = unclassified_root_fields(RootQuery, RootMutation)
    for name in (
        "Query.customers",
        "Query.leads",
        "Query.auditLog",
        "Mutation.createApiKey",
        "Mutation.updateLead",
    ):
        assert name not in missing
    assert QUERY_POLICY["audit_log"] == "audit:read"
