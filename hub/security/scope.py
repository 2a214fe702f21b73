"""Row-level scoping: which customers, leads, opportunities, activities, competitor notes and timeline
events a request may see, decided once per request and enforced on every ORM statement it runs.

A principal whose role has ``rows: territory`` sees the records of its territories (those it is bound to,
and those its sales rep is a member of) and of every territory below them. The ``AccessScope`` is computed
once when the request is admitted, carried on the ``RequestContext`` and made the *active* scope for the
request (a context variable). A session listener adds the scope's criteria (``with_loader_criteria``) to
every ORM SELECT, UPDATE and DELETE on the hub database while a scope is active, so lookups by id, lists
and their counts, searches, nested relations, the timeline, mutations and exports all obey the same rules
without any service having to remember them: an out-of-scope id simply is not there. INSERTs are not
filtered, but every reference a new record makes (customer, lead, opportunity, territory) is read first
and so must be in scope.

Code outside a request (CLI, jobs, seeding) runs with no active scope and sees everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from .principal import Principal

if TYPE_CHECKING:
    from hub.store import Database


@dataclass(frozen=True)
class AccessScope:
    """The territories whose records are visible; ``None`` means every record."""

    territory_ids: frozenset[str] | None

    @property
    def unrestricted(self) -> bool:
        return self.territory_ids is None

    def sees_territory(self, territory_id: str | None) -> bool:
        return self.territory_ids is None or (territory_id is not None and territory_id in self.territory_ids)

    @cached_property
    def criteria(self) -> tuple[Any, ...]:
        """The ``with_loader_criteria`` options that restrict every hub entity to this scope."""
        # Imported here: the request context (which every layer imports) carries scopes, the models do not.
        from hub.crm.models import (
            Activity,
            CompetitorNote,
            CrmCustomerProfile,
            CrmEvent,
            CustomerTerritory,
            Lead,
            Opportunity,
            Territory,
            TerritoryMember,
            TerritoryRule,
        )
        from hub.store.models import CustomerLink, HubCustomer

        if self.territory_ids is None:
            return ()
        ids = tuple(sorted(self.territory_ids))
        customers = select(CustomerTerritory.hub_customer_id).where(CustomerTerritory.territory_id.in_(ids))
        leads = select(Lead.id).where(Lead.territory_id.in_(ids))
        opportunities = select(Opportunity.id).where(Opportunity.territory_id.in_(ids))

        def linked(column: Any, visible: Any) -> ColumnElement[bool]:
            return or_(column.is_(None), column.in_(visible))

        rules: list[tuple[type[Any], ColumnElement[bool]]] = [
            (Territory, Territory.id.in_(ids)),
            (TerritoryMember, TerritoryMember.territory_id.in_(ids)),
            (TerritoryRule, TerritoryRule.territory_id.in_(ids)),
            (CustomerTerritory, CustomerTerritory.territory_id.in_(ids)),
            # A merged-away id stays visible as long as the customer it was merged into is.
            (HubCustomer, or_(HubCustomer.id.in_(customers), HubCustomer.merged_into.in_(customers))),
            (CustomerLink, CustomerLink.hub_customer_id.in_(customers)),
            (CrmCustomerProfile, CrmCustomerProfile.hub_customer_id.in_(customers)),
            (Lead, Lead.territory_id.in_(ids)),
            (Opportunity, Opportunity.territory_id.in_(ids)),
            # Records linked to several things are visible only when every one of them is.
            (
                Activity,
                and_(
                    linked(Activity.customer_id, customers),
                    linked(Activity.lead_id, leads),
                    linked(Activity.opportunity_id, opportunities),
                    or_(
                        Activity.customer_id.is_not(None),
                        Activity.lead_id.is_not(None),
                        Activity.opportunity_id.is_not(None),
                    ),
                ),
            ),
            (
                CompetitorNote,
                and_(
                    linked(CompetitorNote.customer_id, customers),
                    linked(CompetitorNote.opportunity_id, opportunities),
                    or_(CompetitorNote.customer_id.is_not(None), CompetitorNote.opportunity_id.is_not(None)),
                ),
            ),
            (
                CrmEvent,
                or_(
                    and_(CrmEvent.subject_type == "lead", CrmEvent.subject_id.in_(leads)),
                    and_(CrmEvent.subject_type == "opportunity", CrmEvent.subject_id.in_(opportunities)),
                    and_(
                        CrmEvent.subject_type.not_in(("lead", "opportunity")),
                        CrmEvent.customer_id.in_(customers),
                    ),
                ),
            ),
        ]
        return tuple(with_loader_criteria(model, condition) for model, condition in rules)


UNRESTRICTED = AccessScope(None)
#: Nothing at all: an unauthenticated request, or a territory-bound principal without territories.
NOTHING = AccessScope(frozenset())

_active: ContextVar[AccessScope] = ContextVar("crmhub_access_scope", default=UNRESTRICTED)


def active_scope() -> AccessScope:
    return _active.get()


@contextmanager
def activate(scope: AccessScope) -> Iterator[AccessScope]:
    """Make ``scope`` the one every hub database statement in this block (and the tasks it starts) obeys."""
    token = _active.set(scope)
    try:
        yield scope
    finally:
        _active.reset(token)


def _restrict_statement(state: ORMExecuteState) -> None:
    scope = _active.get()
    if scope.territory_ids is None:
        return
    # Column and relationship loads refine rows an earlier (already restricted) statement returned.
    if state.is_select and (state.is_column_load or state.is_relationship_load):
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(*scope.criteria)


def install_row_scoping() -> None:
    """Register the session listener (idempotent)."""
    if not event.contains(Session, "do_orm_execute", _restrict_statement):
        event.listen(Session, "do_orm_execute", _restrict_statement)


install_row_scoping()


def territory_subtrees(roots: set[str], edges: list[tuple[str, str | None]]) -> frozenset[str]:
    """``roots`` and every territory below them (unknown roots are dropped)."""
    children: dict[str | None, list[str]] = {}
    known = set()
    for child, parent in edges:
        children.setdefault(parent, []).append(child)
        known.add(child)
    found: set[str] = set()
    stack = [root for root in roots if root in known]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return frozenset(found)


async def compute_scope(db: Database, principal: Principal) -> AccessScope:
    """The scope of ``principal``: everything for ``rows: all`` roles, else its territories' subtrees."""
    if not principal.is_authenticated:
        return NOTHING
    if principal.rows == "all":
        return UNRESTRICTED
    from hub.crm.models import SalesRep, Territory, TerritoryMember

    def read(session: Session) -> tuple[set[str], list[tuple[str, str | None]]]:
        roots = set(principal.territory_ids)
        if principal.rep_id is not None:
            roots.update(
                session.scalars(
                    select(TerritoryMember.territory_id)
                    .join(SalesRep, SalesRep.id == TerritoryMember.rep_id)
                    .where(TerritoryMember.rep_id == principal.rep_id, SalesRep.active.is_(True))
                )
            )
        edges = [(row[0], row[1]) for row in session.execute(select(Territory.id, Territory.parent_id))]
        return roots, edges

    with activate(UNRESTRICTED):
        roots, edges = await db.read(read)
    return AccessScope(territory_subtrees(roots, edges))
