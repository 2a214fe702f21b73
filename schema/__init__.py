"""The GraphQL schema: thin types and resolvers over the hub's services."""

from __future__ import annotations

import functools

import strawberry
from strawberry.extensions import ParserCache
from strawberry.tools import merge_types

from hub.config import GraphQLConfig
from hub.security.config import SecurityConfig

from .cache_admin import CacheMutation
from .crm import CrmMutation, CrmQuery
from .errors import ErrorCodes, MaskedErrorCodes
from .identity import IdentityMutation
from .query import Query
from .resilience import RequestResilience
from .security import SecurityMutation, SecurityQuery
from .validation_cache import TextValidationCache, ValidationResults
from .view import MarkExecuted

RootQuery = merge_types("Query", (Query, CrmQuery, SecurityQuery))
RootMutation = merge_types("Mutation", (CrmMutation, CacheMutation, SecurityMutation, IdentityMutation))


def build_schema(
    *, production: bool = False, security: SecurityConfig | None = None, graphql: GraphQLConfig | None = None
) -> strawberry.Schema:
    """The schema, its fields guarded by ``permissions.py`` and its documents by ``limits.py`` (configured
    by the ``security`` and ``graphql`` sections of the settings; defaults when absent)."""
    from .limits import limit_extensions
    from .permissions import ActivateAccessScope, apply_policy

    security = security or SecurityConfig()
    apply_policy(RootQuery, RootMutation)
    introspection = security.introspection_enabled(production=production)
    limits = limit_extensions(security.limits, graphql or GraphQLConfig(), introspection=introspection)
    return strawberry.Schema(
        query=RootQuery,
        mutation=RootMutation,
        extensions=[
            *limits.before_parsing,
            ParserCache,
            *limits.validation,
            functools.partial(TextValidationCache, results=ValidationResults()),
            *limits.after_validation,
            MarkExecuted,
            ActivateAccessScope,
            MaskedErrorCodes if production else ErrorCodes,
            # Inside the error extension: the partial-result errors it adds are already in client form.
            RequestResilience,
        ],
    )


__all__ = ["build_schema"]
