"""The GraphQL schema: thin types and resolvers over the hub's services."""

from __future__ import annotations

import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from .errors import ErrorCodes, MaskedErrorCodes
from .query import Query
from .view import MarkExecuted


def build_schema(*, production: bool = False) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        extensions=[
            ParserCache,
            ValidationCache,
            MarkExecuted,
            MaskedErrorCodes if production else ErrorCodes,
        ],
    )


__all__ = ["build_schema"]
