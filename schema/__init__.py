"""The GraphQL schema: thin types and resolvers over the hub's services."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types

from .crm import CrmMutation, CrmQuery
from .errors import ErrorCodes, MaskedErrorCodes
from .query import Query
from .view import MarkExecuted

RootQuery = merge_types("Query", (Query, CrmQuery))
RootMutation = merge_types("Mutation", (CrmMutation,))


def build_schema(*, production: bool = False) -> strawberry.Schema:
    return strawberry.Schema(
        query=RootQuery,
        mutation=RootMutation,
        extensions=[
            ParserCache,
            ValidationCache,
            MarkExecuted,
            MaskedErrorCodes if production else ErrorCodes,
        ],
    )


__all__ = ["build_schema"]
