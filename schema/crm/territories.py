"""Territories: the hierarchy, members, assignment rules, manual customer assignments and the
assignment run."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum

import strawberry

from hub.crm.loaders import crm_loaders
from hub.crm.models import CustomerTerritory as CustomerTerritoryRow
from hub.crm.models import Territory as TerritoryRow
from hub.crm.models import TerritoryMember as MemberRow
from hub.crm.models import TerritoryRule as RuleRow
from hub.crm.rules import Condition
from hub.crm.services import assignment
from hub.crm.services import territories as service

from ..context import Info
from .common import Audited, CrmError, SalesRep, attempt, audit, changes, from_id, load_rep, to_id


@strawberry.enum
class TerritoryType(Enum):
    REGION = "region"
    COUNTRY = "country"
    STATE = "state"
    CITY = "city"
    NAMED_ACCOUNTS = "named_accounts"
    OTHER = "other"


@strawberry.enum
class MemberRole(Enum):
    OWNER = "owner"
    REP = "rep"


@strawberry.enum
class RuleField(Enum):
    COUNTRY = "country"
    REGION = "region"
    CITY = "city"
    POSTAL_CODE = "postal_code"
    INDUSTRY = "industry"
    TERRITORY_CODE = "territory_code"
    ANNUAL_REVENUE = "annual_revenue"


@strawberry.enum
class RuleOperator(Enum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    STARTS_WITH = "starts_with"
    BETWEEN = "between"


@strawberry.enum
class RuleLogic(Enum):
    AND = "AND"
    OR = "OR"


@strawberry.type
class TerritoryMember(Audited):
    id: strawberry.ID
    role: MemberRole
    _row: strawberry.Private[MemberRow]

    @strawberry.field
    async def rep(self, info: Info) -> SalesRep | None:
        return await load_rep(info, self._row.rep_id)

    @classmethod
    def from_row(cls, row: MemberRow) -> TerritoryMember:
        return cls(id=strawberry.ID(row.id), role=MemberRole(row.role), _row=row, **audit(row))


@strawberry.type(
    description="One condition; text operators compare case-insensitively, BETWEEN is [min, max)."
)
class RuleCondition:
    field: RuleField
    operator: RuleOperator
    values: list[str]
    min: Decimal | None
    max: Decimal | None

    @classmethod
    def from_condition(cls, condition: Condition) -> RuleCondition:
        return cls(
            field=RuleField(condition.field),
            operator=RuleOperator(condition.operator),
            values=list(condition.values),
            min=condition.minimum,
            max=condition.maximum,
        )


@strawberry.type
class TerritoryRule(Audited):
    id: strawberry.ID
    territory_id: strawberry.ID
    name: str
    priority: int = strawberry.field(description="Lower runs first; the first matching rule assigns.")
    active: bool
    logic: RuleLogic
    expression: str | None = strawberry.field(description="e.g. (1 AND 2) OR 3; overrides `logic`.")
    conditions: list[RuleCondition]

    @classmethod
    def from_row(cls, row: RuleRow) -> TerritoryRule:
        return cls(
            id=strawberry.ID(row.id),
            territory_id=strawberry.ID(row.territory_id),
            name=row.name,
            priority=row.priority,
            active=row.active,
            logic=RuleLogic(row.logic),
            expression=row.expression,
            conditions=[RuleCondition.from_condition(Condition.from_json(c)) for c in row.conditions],
            **audit(row),
        )


@strawberry.type
class Territory(Audited):
    id: strawberry.ID
    name: str
    type: TerritoryType
    description: str | None
    parent_id: strawberry.ID | None
    _row: strawberry.Private[TerritoryRow]

    @classmethod
    def from_row(cls, row: TerritoryRow) -> Territory:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            type=TerritoryType(row.type),
            description=row.description,
            parent_id=to_id(row.parent_id),
            _row=row,
            **audit(row),
        )

    @strawberry.field
    async def parent(self, info: Info) -> Territory | None:
        return await load_territory(info, self._row.parent_id)

    @strawberry.field(description="The territories directly below, by name.")
    async def children(self, info: Info) -> list[Territory]:
        return [Territory.from_row(r) for r in await crm_loaders(info.context).children.load(self._row.id)]

    @strawberry.field
    async def members(self, info: Info) -> list[TerritoryMember]:
        return [
            TerritoryMember.from_row(r) for r in await crm_loaders(info.context).members.load(self._row.id)
        ]

    @strawberry.field
    async def rules(self, info: Info) -> list[TerritoryRule]:
        return [TerritoryRule.from_row(r) for r in await crm_loaders(info.context).rules.load(self._row.id)]


async def load_territory(info: Info, territory_id: str | None) -> Territory | None:
    """A territory through the request's loader; None when there is no id or no such territory."""
    if territory_id is None:
        return None
    row = await crm_loaders(info.context).territories.load(territory_id)
    return Territory.from_row(row) if row else None


@strawberry.type
class CustomerTerritory(Audited):
    customer_id: strawberry.ID
    manual: bool = strawberry.field(description="Set by hand; assignment runs keep it.")
    rule_id: strawberry.ID | None
    _row: strawberry.Private[CustomerTerritoryRow]

    @strawberry.field
    async def territory(self, info: Info) -> Territory | None:
        return await load_territory(info, self._row.territory_id)

    @classmethod
    def from_row(cls, row: CustomerTerritoryRow) -> CustomerTerritory:
        return cls(
            customer_id=strawberry.ID(row.hub_customer_id),
            manual=row.manual,
            rule_id=to_id(row.rule_id),
            _row=row,
            **audit(row),
        )


@strawberry.input
class TerritoryInput:
    name: str | None = strawberry.UNSET
    type: TerritoryType | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input
class RuleConditionInput:
    field: RuleField
    operator: RuleOperator
    values: list[str] | None = None
    min: Decimal | None = None
    max: Decimal | None = None


@strawberry.input
class TerritoryRuleInput:
    name: str | None = strawberry.UNSET
    priority: int | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET
    logic: RuleLogic | None = strawberry.UNSET
    expression: str | None = strawberry.UNSET
    conditions: list[RuleConditionInput] | None = strawberry.UNSET


def _rule_changes(data: TerritoryRuleInput) -> dict[str, object]:
    sent = changes(data)
    if isinstance(sent.get("conditions"), list):
        sent["conditions"] = [
            {
                "field": c.field.value,
                "operator": c.operator.value,
                "values": c.values or [],
                "min": c.min,
                "max": c.max,
            }
            for c in data.conditions or []
        ]
    return sent


@strawberry.type
class TerritoryPayload:
    territory: Territory | None
    errors: list[CrmError]


@strawberry.type
class TerritoryMemberPayload:
    member: TerritoryMember | None
    errors: list[CrmError]


@strawberry.type
class TerritoryRulePayload:
    rule: TerritoryRule | None
    errors: list[CrmError]


@strawberry.type
class CustomerTerritoryPayload:
    assignment: CustomerTerritory | None
    errors: list[CrmError]


@strawberry.type
class DeletePayload:
    deleted: bool
    errors: list[CrmError]


@strawberry.type
class AssignmentCounts:
    assigned: int
    changed: int
    unassigned: int
    manual_kept: int


@strawberry.type
class TerritoryTally:
    territory_id: strawberry.ID
    name: str
    customers: int
    leads: int


@strawberry.type
class TerritoryAssignmentReport:
    customers: AssignmentCounts
    leads: AssignmentCounts
    lead_owners_set: int
    per_territory: list[TerritoryTally]
    seconds: float


def _territory(row: TerritoryRow | None, errors: list[CrmError]) -> TerritoryPayload:
    return TerritoryPayload(territory=Territory.from_row(row) if row else None, errors=errors)


@strawberry.type
class TerritoryQuery:
    @strawberry.field(description="The territory hierarchy: the roots, each with `children` below it.")
    async def territories(self, info: Info) -> list[Territory]:
        return [Territory.from_row(node.territory) for node in await service.territory_tree(info.context)]

    @strawberry.field
    async def territory(self, info: Info, id: strawberry.ID) -> Territory | None:
        return await load_territory(info, str(id))

    @strawberry.field(description="The territory assignment of a customer; null when it has none.")
    async def customer_territory(self, info: Info, customer_id: strawberry.ID) -> CustomerTerritory | None:
        row = await service.customer_territory(info.context, customer_id=str(customer_id))
        return CustomerTerritory.from_row(row) if row else None


@strawberry.type
class TerritoryMutation:
    @strawberry.mutation
    async def create_territory(self, info: Info, input: TerritoryInput) -> TerritoryPayload:
        return _territory(*await attempt(service.create_territory(info.context, fields=changes(input))))

    @strawberry.mutation
    async def update_territory(
        self, info: Info, id: strawberry.ID, version: int, input: TerritoryInput
    ) -> TerritoryPayload:
        call = service.update_territory(
            info.context, territory_id=str(id), version=version, changes=changes(input)
        )
        return _territory(*await attempt(call))

    @strawberry.mutation
    async def add_territory_member(
        self, info: Info, territory_id: strawberry.ID, rep_id: strawberry.ID, role: MemberRole
    ) -> TerritoryMemberPayload:
        row, errors = await attempt(
            service.add_territory_member(
                info.context, territory_id=str(territory_id), rep_id=str(rep_id), role=role.value
            )
        )
        return TerritoryMemberPayload(member=TerritoryMember.from_row(row) if row else None, errors=errors)

    @strawberry.mutation
    async def update_territory_member(
        self, info: Info, id: strawberry.ID, version: int, role: MemberRole
    ) -> TerritoryMemberPayload:
        row, errors = await attempt(
            service.update_territory_member(info.context, member_id=str(id), version=version, role=role.value)
        )
        return TerritoryMemberPayload(member=TerritoryMember.from_row(row) if row else None, errors=errors)

    @strawberry.mutation
    async def remove_territory_member(self, info: Info, id: strawberry.ID, version: int) -> DeletePayload:
        _, errors = await attempt(
            service.remove_territory_member(info.context, member_id=str(id), version=version)
        )
        return DeletePayload(deleted=not errors, errors=errors)

    @strawberry.mutation
    async def create_territory_rule(
        self, info: Info, territory_id: strawberry.ID, input: TerritoryRuleInput
    ) -> TerritoryRulePayload:
        row, errors = await attempt(
            service.create_territory_rule(
                info.context, territory_id=str(territory_id), fields=_rule_changes(input)
            )
        )
        return TerritoryRulePayload(rule=TerritoryRule.from_row(row) if row else None, errors=errors)

    @strawberry.mutation
    async def update_territory_rule(
        self, info: Info, id: strawberry.ID, version: int, input: TerritoryRuleInput
    ) -> TerritoryRulePayload:
        row, errors = await attempt(
            service.update_territory_rule(
                info.context, rule_id=str(id), version=version, changes=_rule_changes(input)
            )
        )
        return TerritoryRulePayload(rule=TerritoryRule.from_row(row) if row else None, errors=errors)

    @strawberry.mutation
    async def delete_territory_rule(self, info: Info, id: strawberry.ID, version: int) -> DeletePayload:
        _, errors = await attempt(
            service.delete_territory_rule(info.context, rule_id=str(id), version=version)
        )
        return DeletePayload(deleted=not errors, errors=errors)

    @strawberry.mutation(
        description="Pin a customer to a territory by hand (null releases it to the rules). `version` is the "
        "assignment's version, or null when the customer had none."
    )
    async def assign_customer_territory(
        self,
        info: Info,
        customer_id: strawberry.ID,
        territory_id: strawberry.ID | None,
        version: int | None = None,
    ) -> CustomerTerritoryPayload:
        row, errors = await attempt(
            service.assign_customer_territory(
                info.context,
                customer_id=str(customer_id),
                territory_id=from_id(territory_id),
                version=version,
            )
        )
        return CustomerTerritoryPayload(
            assignment=CustomerTerritory.from_row(row) if row else None, errors=errors
        )

    @strawberry.mutation(
        description="Assign every customer and open lead by the rules; manual ones are kept."
    )
    async def run_territory_assignment(self, info: Info) -> TerritoryAssignmentReport:
        report = await assignment.run_territory_assignment(info.context)
        return TerritoryAssignmentReport(
            customers=AssignmentCounts(**vars(report.customers)),
            leads=AssignmentCounts(**vars(report.leads)),
            lead_owners_set=report.lead_owners_set,
            per_territory=[
                TerritoryTally(
                    territory_id=strawberry.ID(t.territory_id),
                    name=t.name,
                    customers=t.customers,
                    leads=t.leads,
                )
                for t in report.per_territory
            ],
            seconds=report.seconds,
        )
