"""Who may read which field and run which operation: one policy, applied to the schema's fields as
strawberry permission extensions when the schema is built.

* Every root query and mutation field names the permission it needs. A root field missing from the
  policy (added later, never classified) is open only to principals holding ``*``: new surface starts
  closed.
* Nested fields that expose another entity or a field group name theirs: the financial fields of a
  customer (balance, invoices, payments, credit terms, lifetime value) need ``finance:read`` wherever the
  customer is reached from. A field the principal may not read resolves to null with a ``FORBIDDEN``
  error for that field; the rest of the answer is intact.

Which *rows* a principal sees is not decided here but in the service layer (``hub.security.scope``), which
this module's ``ActivateAccessScope`` extension switches on for every operation.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.permission import BasePermission
from strawberry.types.base import StrawberryList, StrawberryObjectDefinition, StrawberryOptional
from strawberry.types.field import StrawberryField

from hub.context import RequestContext
from hub.crm.errors import api_field
from hub.security import permissions as p
from hub.security.errors import ForbiddenError
from hub.security.principal import Principal
from hub.security.scope import NOTHING, activate

from .audit import AuditMutation
from .crm.leads import ConvertLeadPayload, Lead
from .crm.opportunities import Opportunity
from .customer import Customer

log = logging.getLogger("crmhub.security")


@dataclass(frozen=True, slots=True)
class Rule:
    permission: str
    #: Answer ``[]`` / null without an error (for lists the client cannot otherwise tell apart).
    silent: bool = False


QUERY_POLICY: dict[str, str] = {
    "customer": p.CUSTOMER_READ,
    "customers": p.CUSTOMER_READ,
    "crm_profile": p.CUSTOMER_READ,
    "sources": p.SOURCE_READ,
    "lead": p.LEAD_READ,
    "leads": p.LEAD_READ,
    "opportunity": p.OPPORTUNITY_READ,
    "opportunities": p.OPPORTUNITY_READ,
    "opportunity_stages": p.OPPORTUNITY_READ,
    "pipeline": p.OPPORTUNITY_READ,
    "territories": p.TERRITORY_READ,
    "territory": p.TERRITORY_READ,
    "customer_territory": p.TERRITORY_READ,
    "sales_reps": p.SALES_REP_READ,
    "sales_rep": p.SALES_REP_READ,
    "competitor_notes": p.COMPETITOR_NOTE_READ,
    "competitor_summary": p.COMPETITOR_NOTE_READ,
    "activities": p.ACTIVITY_READ,
    "call_queue": p.ACTIVITY_READ,
    "api_keys": p.API_KEY_ADMIN,
    "audit_log": p.AUDIT_READ,
}

MUTATION_POLICY: dict[str, str] = {
    "create_lead": p.LEAD_WRITE,
    "update_lead": p.LEAD_WRITE,
    "assign_lead": p.LEAD_WRITE,
    "qualify_lead": p.LEAD_WRITE,
    "disqualify_lead": p.LEAD_WRITE,
    "convert_lead": p.LEAD_WRITE,
    "import_leads": p.LEAD_WRITE,
    "create_opportunity": p.OPPORTUNITY_WRITE,
    "update_opportunity": p.OPPORTUNITY_WRITE,
    "configure_opportunity_stage": p.OPPORTUNITY_CONFIGURE,
    "create_territory": p.TERRITORY_WRITE,
    "update_territory": p.TERRITORY_WRITE,
    "add_territory_member": p.TERRITORY_WRITE,
    "update_territory_member": p.TERRITORY_WRITE,
    "remove_territory_member": p.TERRITORY_WRITE,
    "create_territory_rule": p.TERRITORY_WRITE,
    "update_territory_rule": p.TERRITORY_WRITE,
    "delete_territory_rule": p.TERRITORY_WRITE,
    "assign_customer_territory": p.TERRITORY_WRITE,
    "run_territory_assignment": p.TERRITORY_WRITE,
    "create_sales_rep": p.SALES_REP_WRITE,
    "update_sales_rep": p.SALES_REP_WRITE,
    "create_competitor_note": p.COMPETITOR_NOTE_WRITE,
    "update_competitor_note": p.COMPETITOR_NOTE_WRITE,
    "create_activity": p.ACTIVITY_WRITE,
    "update_activity": p.ACTIVITY_WRITE,
    "invalidate_cache": p.CACHE_WRITE,
    "create_api_key": p.API_KEY_ADMIN,
    "revoke_api_key": p.API_KEY_ADMIN,
    "merge_customers": p.IDENTITY_WRITE,
    "split_customer": p.IDENTITY_WRITE,
    "run_identity_resolution": p.IDENTITY_WRITE,
}

FINANCE = Rule(p.FINANCE_READ)
NESTED_POLICY: dict[type, dict[str, Rule]] = {
    Customer: {
        "balance": FINANCE,
        "invoices": FINANCE,
        "payments": FINANCE,
        "credit_terms": FINANCE,
        "lifetime_value": FINANCE,
        "orders": Rule(p.ORDER_READ),
        "tickets": Rule(p.TICKET_READ),
        "marketing": Rule(p.MARKETING_READ),
    },
    Lead: {
        "converted_customer": Rule(p.CUSTOMER_READ),
        "converted_opportunity": Rule(p.OPPORTUNITY_READ),
        "territory": Rule(p.TERRITORY_READ),
    },
    Opportunity: {
        "customer": Rule(p.CUSTOMER_READ),
        "territory": Rule(p.TERRITORY_READ),
        "competitors": Rule(p.COMPETITOR_NOTE_READ, silent=True),
    },
    ConvertLeadPayload: {
        "customer": Rule(p.CUSTOMER_READ),
        "opportunity": Rule(p.OPPORTUNITY_READ),
    },
}


class Requires(BasePermission):
    """The principal of the request must hold ``permission``."""

    def __init__(self, permission: str, label: str) -> None:
        self.permission = permission
        self.label = label

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        principal = getattr(info.context, "principal", None)
        return isinstance(principal, Principal) and principal.allows(self.permission)

    def on_unauthorized(self) -> None:
        raise ForbiddenError(f"not allowed: {self.label} needs the {self.permission!r} permission")


class PolicyPermission(FieldExtension):
    """Checks one ``Requires`` before the field resolves.

    Strawberry's ``PermissionExtension`` takes the parent object as a keyword-capable ``source`` parameter,
    which collides with fields that have an argument of that name; this one takes it positionally only.
    """

    def __init__(self, permission: Requires, *, silent: bool = False) -> None:
        self.permission = permission
        self.silent = silent
        self._answers_list = False

    def apply(self, field: StrawberryField) -> None:
        if not self.silent:
            return
        kind = field.type.of_type if isinstance(field.type, StrawberryOptional) else field.type
        self._answers_list = isinstance(kind, StrawberryList)
        if not (self._answers_list or isinstance(field.type, StrawberryOptional)):
            raise ValueError(
                f"{self.permission.label} is neither a list nor nullable: it cannot fail silently"
            )

    def _refuse(self) -> Any:
        if self.silent:
            return [] if self._answers_list else None
        self.permission.on_unauthorized()
        return None

    def resolve(  # type: ignore[override]
        self, next_: Callable[..., Any], source: Any, info: Any, /, **kwargs: Any
    ) -> Any:
        if not self.permission.has_permission(source, info):
            return self._refuse()
        return next_(source, info, **kwargs)

    async def resolve_async(  # type: ignore[override]
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Any, /, **kwargs: Any
    ) -> Any:
        if not self.permission.has_permission(source, info):
            return self._refuse()
        return await next_(source, info, **kwargs)


def _guard(field: StrawberryField, rule: Rule, label: str) -> None:
    if any(isinstance(e, PolicyPermission) for e in field.extensions):
        return
    field.extensions.append(PolicyPermission(Requires(rule.permission, label), silent=rule.silent))


def _fields(definition: StrawberryObjectDefinition) -> dict[str, StrawberryField]:
    return {f.python_name: f for f in definition.fields}


def _apply_root(root: type, policy: Mapping[str, str], *, audited: bool) -> None:
    definition: StrawberryObjectDefinition = root.__strawberry_definition__  # type: ignore[attr-defined]
    for name, field in _fields(definition).items():
        label = f"{definition.name}.{api_field(name)}"
        permission = policy.get(name)
        if permission is None:
            if not any(isinstance(e, PolicyPermission) for e in field.extensions):
                log.warning("%s has no permission in schema/permissions.py; only '*' may use it", label)
            permission = p.EVERYTHING
        _guard(field, Rule(permission), label)
        if audited and not any(isinstance(e, AuditMutation) for e in field.extensions):
            field.extensions.append(AuditMutation())  # last = outermost: it also sees refusals


def apply_policy(query: type, mutation: type) -> None:
    """Attach the policy's permission (and, on mutations, audit) extensions to the schema's fields."""
    _apply_root(query, QUERY_POLICY, audited=False)
    _apply_root(mutation, MUTATION_POLICY, audited=True)
    for owner, rules in NESTED_POLICY.items():
        definition: StrawberryObjectDefinition = owner.__strawberry_definition__  # type: ignore[attr-defined]
        fields = _fields(definition)
        for name, rule in rules.items():
            if name not in fields:
                raise ValueError(f"the policy names {definition.name}.{name}, which does not exist")
            _guard(fields[name], rule, f"{definition.name}.{api_field(name)}")


def unclassified_root_fields(query: type, mutation: type) -> list[str]:
    """Root fields the policy does not name (they fall back to ``*``)."""
    missing = []
    for root, policy in ((query, QUERY_POLICY), (mutation, MUTATION_POLICY)):
        definition: StrawberryObjectDefinition = root.__strawberry_definition__  # type: ignore[attr-defined]
        missing += [
            f"{definition.name}.{api_field(name)}" for name in _fields(definition) if name not in policy
        ]
    return missing


class ActivateAccessScope(SchemaExtension):
    """Makes the request's access scope the active one while the operation runs, also when the schema is
    executed in-process (the HTTP gate already activated it for requests it admitted)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        access = context.access if isinstance(context, RequestContext) else NOTHING
        with activate(access):
            yield
