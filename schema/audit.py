"""Auditing mutations: a field extension on every root mutation records who ran it, when, on which record
and how it ended (``ok``, ``rejected`` with the payload's error codes, ``forbidden``, ``error``). Input
values are never recorded: they may be personal data or secrets."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension

from hub.context import RequestContext
from hub.errors import HubError
from hub.security.audit import record_audit
from hub.security.errors import ForbiddenError

_VERBS = re.compile(
    r"^(create|update|delete|remove|add|assign|qualify|disqualify|convert|import|configure|revoke|run|"
    r"invalidate)_"
)
_NOT_RECORDS = frozenset({"errors", "duplicates", "row_errors"})


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _record_of(value: Any) -> tuple[str, str] | None:
    definition = getattr(type(value), "__strawberry_definition__", None)
    if definition is None:
        return None
    for attribute in ("id", "customer_id", "name"):
        found = getattr(value, attribute, None)
        if isinstance(found, str) and found:
            return _snake(definition.name), found
    return None


def describe(operation: str, result: Any, arguments: dict[str, Any]) -> tuple[str | None, str | None]:
    """The entity and id a mutation touched: from its payload, else from its arguments."""
    if dataclasses.is_dataclass(result):
        for item in dataclasses.fields(result):
            if item.name in _NOT_RECORDS:
                continue
            found = _record_of(getattr(result, item.name, None))
            if found:
                return found
    entity = _VERBS.sub("", operation) or None
    for argument in ("id", "customer_id", "source"):
        value = arguments.get(argument)
        if isinstance(value, str) and value:
            return (entity if argument == "id" else argument.removesuffix("_id")), value
    return entity, None


def _error_codes(result: Any) -> str | None:
    errors = getattr(result, "errors", None)
    if not errors or not isinstance(errors, list):
        return None
    return ",".join(sorted({str(getattr(e, "code", "ERROR")) for e in errors}))


class AuditMutation(FieldExtension):
    # ``source`` and ``info`` are positional-only: a mutation may have an argument called ``source``.
    async def resolve_async(  # type: ignore[override]
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Any, /, **kwargs: Any
    ) -> Any:
        try:
            result = await next_(source, info, **kwargs)
        except ForbiddenError:
            await self._record(info, kwargs, None, "forbidden", "FORBIDDEN")
            raise
        except HubError as exc:
            await self._record(info, kwargs, None, "rejected", exc.code)
            raise
        except Exception as exc:
            await self._record(info, kwargs, None, "error", type(exc).__name__)
            raise
        codes = _error_codes(result)
        await self._record(info, kwargs, result, "rejected" if codes else "ok", codes)
        return result

    def resolve(  # type: ignore[override]
        self, next_: Callable[..., Any], source: Any, info: Any, /, **kwargs: Any
    ) -> Any:
        result = next_(source, info, **kwargs)
        codes = _error_codes(result)
        # A synchronous mutation: write the entry alongside, the event loop is running.
        asyncio.get_running_loop().create_task(
            self._record(info, kwargs, result, "rejected" if codes else "ok", codes)
        )
        return result

    async def _record(
        self, info: Any, arguments: dict[str, Any], result: Any, outcome: str, detail: str | None
    ) -> None:
        context = info.context
        if not isinstance(context, RequestContext) or not context.hub.settings.security.audit:
            return
        operation = info.field_name
        snake = _snake(operation)
        entity, entity_id = describe(snake, result, arguments)
        await record_audit(
            context.hub.db,
            principal=context.principal,
            operation=operation,
            outcome=outcome,
            entity=entity,
            entity_id=entity_id,
            detail=detail,
        )
