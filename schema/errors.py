"""Turns domain and adapter errors into GraphQL errors with a stable ``extensions.code``.

Known errors keep their (safe) message and gain ``code`` (and ``field`` / ``source``); anything unexpected
is masked in production so no stack trace, URL or SQL reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from adapters.sdk import AdapterError
from hub.errors import HubError

log = logging.getLogger("crmhub.graphql")


def _rewrite(error: GraphQLError, *, mask_unexpected: bool) -> GraphQLError:
    original = error.original_error
    if original is None:  # syntax / validation errors are already client-facing
        return error
    extensions = dict(error.extensions or {})
    if isinstance(original, GraphQLError):
        # A variable or argument graphql-core could not coerce: the client's mistake, and its message says so.
        if "code" in extensions:
            return error
        extensions["code"] = "BAD_USER_INPUT"
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions=extensions,
        )
    if isinstance(original, HubError):
        extensions["code"] = original.code
        if original.field:
            extensions["field"] = original.field
        message = original.message
    elif isinstance(original, AdapterError):
        extensions["code"] = original.code
        if original.source:
            extensions["source"] = original.source
        message = (
            f"source {original.source!r} failed: {original.message}" if original.source else original.message
        )
    else:
        log.error("unexpected error in resolver", exc_info=original)
        if not mask_unexpected:
            return error
        extensions["code"] = "INTERNAL_SERVER_ERROR"
        message = "Unexpected error."
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    mask_unexpected = False

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_rewrite(e, mask_unexpected=self.mask_unexpected) for e in result.errors]


class MaskedErrorCodes(ErrorCodes):
    mask_unexpected = True
