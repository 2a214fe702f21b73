"""API keys and the audit log in the schema (administrators only; see ``schema/permissions.py``)."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry

from hub.security import api_keys as keys
from hub.security.audit import audit_page
from hub.security.models import ApiKey as ApiKeyRow
from hub.security.models import AuditEntry as AuditRow

from .context import Info
from .crm.common import CrmError, attempt, from_id
from .relay import Connection


@strawberry.enum
class ApiKeyState(Enum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


@strawberry.type(description="An API key; the key itself is shown only once, when it is created.")
class ApiKey:
    id: strawberry.ID
    name: str
    role: str
    territories: list[strawberry.ID] = strawberry.field(description="Territories (and those below) in scope.")
    rep_id: strawberry.ID | None = strawberry.field(
        description="The sales rep whose territories are in scope."
    )
    prefix: str = strawberry.field(description="The key's first characters, to recognise it.")
    state: ApiKeyState
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_by: str | None

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            role=row.role,
            territories=[strawberry.ID(t) for t in row.territories or []],
            rep_id=strawberry.ID(row.rep_id) if row.rep_id else None,
            prefix=row.prefix,
            state=ApiKeyState(keys.key_state(row)),
            created_at=row.created_at,
            created_by=row.created_by,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            revoked_by=row.revoked_by,
        )


@strawberry.input
class ApiKeyInput:
    role: str
    name: str | None = None
    territories: list[str] = strawberry.field(
        default_factory=list, description="Territory ids or names the key is bound to."
    )
    rep_id: strawberry.ID | None = strawberry.field(default=None, description="A sales rep the key acts for.")
    expires_at: dt.datetime | None = None


@strawberry.type
class CreateApiKeyPayload:
    key: str | None = strawberry.field(description="The new key: shown this once and never again.")
    api_key: ApiKey | None
    errors: list[CrmError]


@strawberry.type
class RevokeApiKeyPayload:
    api_key: ApiKey | None
    errors: list[CrmError]


@strawberry.type(description="One mutation: who ran it, when, on which record, and how it ended.")
class AuditEntry:
    id: strawberry.ID
    occurred_at: dt.datetime
    actor: str
    principal_id: str
    role: str
    operation: str
    entity: str | None
    entity_id: str | None
    outcome: str = strawberry.field(description="ok, rejected, forbidden or error.")
    detail: str | None = strawberry.field(description="Error codes of a call that did not succeed.")

    @classmethod
    def from_row(cls, row: AuditRow) -> AuditEntry:
        return cls(
            id=strawberry.ID(str(row.id)),
            occurred_at=row.occurred_at,
            actor=row.actor,
            principal_id=row.principal_id,
            role=row.role,
            operation=row.operation,
            entity=row.entity,
            entity_id=row.entity_id,
            outcome=row.outcome,
            detail=row.detail,
        )


@strawberry.type
class SecurityQuery:
    @strawberry.field(description="API keys, oldest first; revoked ones with `includeRevoked`.")
    async def api_keys(self, info: Info, include_revoked: bool = False) -> list[ApiKey]:
        rows = await keys.list_api_keys(info.context.hub.db, include_revoked=include_revoked)
        return [ApiKey.from_row(row) for row in rows]

    @strawberry.field(description="The audit log of mutations, newest first.")
    async def audit_log(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        actor: str | None = None,
        operation: str | None = None,
        entity: str | None = None,
        entity_id: str | None = None,
    ) -> Connection[AuditEntry]:
        page = await audit_page(
            info.context,
            first=first,
            after=after,
            actor=actor,
            operation=operation,
            entity=entity,
            entity_id=entity_id,
        )
        return Connection.from_page(page, AuditEntry.from_row)


@strawberry.type
class SecurityMutation:
    @strawberry.mutation(description="Create an API key; the key is in the payload this once.")
    async def create_api_key(self, info: Info, input: ApiKeyInput) -> CreateApiKeyPayload:
        context = info.context
        issued, errors = await attempt(
            keys.create_api_key(
                context.hub.db,
                context.hub.settings.security,
                role=input.role,
                actor=context.actor,
                name=input.name,
                territories=input.territories,
                rep_id=from_id(input.rep_id),
                expires_at=input.expires_at,
            )
        )
        if issued is None:
            return CreateApiKeyPayload(key=None, api_key=None, errors=errors)
        return CreateApiKeyPayload(key=issued.key, api_key=ApiKey.from_row(issued.record), errors=[])

    @strawberry.mutation(description="Revoke an API key; it stops working at once.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> RevokeApiKeyPayload:
        row, errors = await attempt(
            keys.revoke_api_key(info.context.hub.db, str(id), actor=info.context.actor)
        )
        return RevokeApiKeyPayload(api_key=ApiKey.from_row(row) if row else None, errors=errors)
