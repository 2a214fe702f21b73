"""Who is asking: the principal an API key or a JWT stands for, with its role's permissions and the
territories it is bound to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from .config import RowScope, SecurityConfig
from .permissions import EVERYTHING, grants

PrincipalKind = Literal["system", "api_key", "jwt", "anonymous"]


@dataclass(frozen=True, slots=True)
class Principal:
    #: Stable and unique: ``key:<key id>``, ``jwt:<issuer>|<subject>``, ``system``, ``anonymous``.
    id: str
    #: Who to name as the actor of writes and in the audit log.
    name: str
    role: str
    permissions: frozenset[str]
    rows: RowScope
    kind: PrincipalKind
    #: Territories the principal is bound to (their subtrees are in scope), besides its sales rep's.
    territory_ids: frozenset[str] = field(default_factory=frozenset)
    rep_id: str | None = None

    def allows(self, permission: str) -> bool:
        return grants(self.permissions, permission)

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"


#: In-process callers: the CLI, jobs, seeding, tests of the services. Never given to an HTTP request.
SYSTEM = Principal(
    id="system", name="system", role="system", permissions=frozenset({EVERYTHING}), rows="all", kind="system"
)
#: An HTTP request nobody authenticated: may do nothing and sees nothing.
ANONYMOUS = Principal(
    id="anonymous", name="anonymous", role="", permissions=frozenset(), rows="territory", kind="anonymous"
)


class UnknownRoleError(ValueError):
    pass


def principal_for(
    config: SecurityConfig,
    *,
    id: str,
    name: str,
    role: str,
    kind: PrincipalKind,
    territory_ids: Iterable[str] = (),
    rep_id: str | None = None,
) -> Principal:
    """The principal of a role configured in ``config``; raises ``UnknownRoleError`` for any other role."""
    role_config = config.roles.get(role)
    if role_config is None:
        raise UnknownRoleError(f"role {role!r} is not configured")
    return Principal(
        id=id,
        name=name,
        role=role,
        permissions=frozenset(role_config.permissions),
        rows=role_config.rows,
        kind=kind,
        territory_ids=frozenset(territory_ids),
        rep_id=rep_id,
    )
