"""Identity-resolution mutations: merge customers, split records off a customer, run resolution.

They change the identity map for everyone, so they are admin-only: the security policy
(``schema/permissions.py``) closes every root field it does not name to all but principals holding ``*``;
to open them to a narrower role, name these fields there with an identity-admin permission.
"""

from __future__ import annotations

import strawberry

from hub.errors import InvalidInputError
from hub.identity.decisions import merge_customers, split_customer
from hub.identity.run import IdentityRunReport, run_identity_resolution

from .context import Info
from .customer import Customer


@strawberry.input(description="A silo record linked to a customer.")
class SourceRecordInput:
    source: str
    external_id: str
    entity: str = "customer"


@strawberry.type
class SplitCustomerPayload:
    customer: Customer = strawberry.field(description="The customer the records were split from.")
    new_customer: Customer = strawberry.field(description="The new customer holding the split records.")


@strawberry.type(description="Records read from one source and entity.")
class RecordsRead:
    source: str
    entity: str
    count: int


@strawberry.type(description="What one run of identity resolution did.")
class IdentityRunResult:
    full: bool
    full_reason: str = strawberry.field(description='"requested", "first run", "rules changed" or empty.')
    records_read: list[RecordsRead]
    records_changed: int
    records_deleted: int
    records: int = strawberry.field(description="Records known to identity resolution after the run.")
    compared_pairs: int
    ambiguous_records: int
    clusters: int
    singletons: int
    customers: int
    links: int
    customers_created: int
    customers_merged: int
    links_added: int
    links_changed: int
    links_removed: int
    seconds: float

    @classmethod
    def from_report(cls, report: IdentityRunReport) -> IdentityRunResult:
        read = [
            RecordsRead(source=key.partition(".")[0], entity=key.partition(".")[2], count=count)
            for key, count in report.records_read.items()
        ]
        write = report.write
        return cls(
            full=report.full,
            full_reason=report.full_reason,
            records_read=read,
            records_changed=report.records_changed,
            records_deleted=report.records_deleted,
            records=report.records_total,
            compared_pairs=report.compared_pairs,
            ambiguous_records=report.ambiguous_records,
            clusters=report.clusters,
            singletons=report.singletons,
            customers=report.customers,
            links=report.links,
            customers_created=write.customers_created,
            customers_merged=write.customers_merged,
            links_added=write.links_added,
            links_changed=write.links_changed,
            links_removed=write.links_removed,
            seconds=round(report.seconds, 3),
        )


def _record_key(record: SourceRecordInput) -> tuple[str, str, str]:
    for name, value in (
        ("source", record.source),
        ("entity", record.entity),
        ("externalId", record.external_id),
    ):
        if not value.strip() or len(value) > 200:
            raise InvalidInputError(f"`records.{name}` must be 1 to 200 characters", field="records")
    return (record.source, record.entity, record.external_id)


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(
        description="Merge customers the rules kept apart: the merged customers' records move to the "
        "survivor and their ids resolve to it. Every later run of identity resolution keeps them together."
    )
    async def merge_customers(
        self, info: Info, survivor_id: strawberry.ID, merged_ids: list[strawberry.ID]
    ) -> Customer:
        survivor = await merge_customers(
            info.context.hub,
            survivor_id=str(survivor_id),
            merged_ids=[str(i) for i in merged_ids],
            actor=info.context.actor,
        )
        return Customer(_row=survivor)

    @strawberry.mutation(
        description="Split linked records off a customer into a new customer. Every later run of identity "
        "resolution keeps them apart from the records left behind."
    )
    async def split_customer(
        self, info: Info, customer_id: strawberry.ID, records: list[SourceRecordInput]
    ) -> SplitCustomerPayload:
        keys = [_record_key(r) for r in records]
        result = await split_customer(
            info.context.hub, customer_id=str(customer_id), records=keys, actor=info.context.actor
        )
        return SplitCustomerPayload(
            customer=Customer(_row=result.original), new_customer=Customer(_row=result.created)
        )

    @strawberry.mutation(
        description="Run identity resolution now: incremental (records changed since the last run) unless "
        "`full`."
    )
    async def run_identity_resolution(self, info: Info, full: bool = False) -> IdentityRunResult:
        report = await run_identity_resolution(info.context.hub, full=full)
        return IdentityRunResult.from_report(report)
