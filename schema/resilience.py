"""The GraphQL side of caching and resilience, as one schema extension.

For every operation it opens the request scope (the deadline counted from when the request arrived), a
tracing span around the operation, and at the end tells the client what it should know about the data:

* sources left out of a merged result (a customer profile, a list read from several sources) become errors
  with ``extensions.code`` / ``source`` / ``partial: true``; the data of the other sources is returned;
* data served stale because its source failed is listed in the response's ``extensions.stale``:
  ``[{"source": "erp", "entity": "customer", "ageSeconds": 42.0}]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from strawberry.extensions import SchemaExtension

from hub.context import RequestContext
from hub.resilience.scope import RequestScope, request_scope
from hub.tracing import TRACER_NAME, current_span


def _partial_errors(scope: RequestScope) -> list[GraphQLError]:
    errors = []
    for failure in scope.partial.values():
        error = failure.error
        extensions: dict[str, Any] = {"code": error.code, "partial": True}
        if error.source:
            extensions["source"] = error.source
        if error.entity:
            extensions["entity"] = error.entity
        where = f"source {error.source!r} failed" if error.source else "a source failed"
        errors.append(
            GraphQLError(f"{where}: {error.message} (left out of {failure.subject})", extensions=extensions)
        )
    return errors


class RequestResilience(SchemaExtension):
    _scope: RequestScope | None = None

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        hub = context.hub if isinstance(context, RequestContext) else None
        tracer = hub.tracing.tracer if hub is not None else trace.get_tracer(TRACER_NAME)
        deadline = hub.settings.resilience.request_deadline_seconds if hub is not None else None
        started = context.started_at if isinstance(context, RequestContext) else None
        with (
            current_span(tracer, "graphql.operation", kind=SpanKind.SERVER) as span,
            request_scope(deadline_seconds=deadline, started_at=started) as scope,
        ):
            self._scope = scope
            yield
            result = self.execution_context.result
            extra = _partial_errors(scope)
            if result is not None and extra:
                result.errors = [*(result.errors or []), *extra]
            execution = self.execution_context
            try:
                kind = execution.operation_type.value
            except Exception:  # the document did not parse or names no runnable operation
                kind = "unknown"
            span.update_name(f"graphql {kind} {execution.operation_name or ''}".rstrip())
            span.set_attribute("graphql.operation.type", kind)
            if execution.operation_name:
                span.set_attribute("graphql.operation.name", execution.operation_name)
            if result is not None and result.errors:
                span.set_attribute("crmhub.errors", len(result.errors))
                span.set_status(Status(StatusCode.ERROR, "the response carries errors"))
            if scope.stale:
                span.set_attribute("crmhub.stale_sources", sorted({s for s, _ in scope.stale}))

    def get_results(self) -> dict[str, Any]:
        scope = self._scope
        if scope is None or not scope.stale:
            return {}
        return {
            "stale": [
                {"source": n.source, "entity": n.entity, "ageSeconds": round(n.age_seconds, 1)}
                for n in scope.stale_notices()
            ]
        }
