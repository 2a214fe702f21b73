"""The CRM part of the schema: one module per concept, merged into the root types by ``build_schema``."""

from __future__ import annotations

from strawberry.tools import merge_types

from .activities import ActivityMutation, ActivityQuery
from .competitors import CompetitorMutation, CompetitorQuery
from .leads import LeadMutation, LeadQuery
from .opportunities import OpportunityMutation, OpportunityQuery
from .profiles import ProfileQuery
from .reps import SalesRepMutation, SalesRepQuery
from .territories import TerritoryMutation, TerritoryQuery

CrmQuery = merge_types(
    "CrmQuery",
    (
        LeadQuery,
        OpportunityQuery,
        TerritoryQuery,
        SalesRepQuery,
        CompetitorQuery,
        ActivityQuery,
        ProfileQuery,
    ),
)
CrmMutation = merge_types(
    "CrmMutation",
    (
        LeadMutation,
        OpportunityMutation,
        TerritoryMutation,
        SalesRepMutation,
        CompetitorMutation,
        ActivityMutation,
    ),
)

__all__ = ["CrmMutation", "CrmQuery"]
